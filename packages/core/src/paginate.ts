import type { ExtendClient, ThrowingExtendClient } from "./client.js";
import { isApiError } from "./errors.js";
import type { paths } from "./generated/extend-api.js";

/** The key each list endpoint puts its items under. */
const ITEMS = {
  "/workflow_runs": "workflowRuns",
  "/processor_runs": "processorRuns",
  "/processors": "processors",
  "/files": "files",
  "/evaluation_sets": "evaluationSets",
  "/evaluation_sets/{id}/items": "evaluationSetItems",
} as const;

/** The six paginated list endpoints. */
export type ListPath = keyof typeof ITEMS;

type ListOperation<P extends ListPath> = paths[P]["get"];
type ListAnswer<P extends ListPath> =
  ListOperation<P>["responses"][200]["content"]["application/json"];
/** One item of a list endpoint, as the spec types it. */
export type ListItem<P extends ListPath> =
  ListAnswer<P> extends { [K in (typeof ITEMS)[P]]: Array<infer T> } ? T : never;
type Query<P extends ListPath> = Omit<
  NonNullable<ListOperation<P>["parameters"]["query"]>,
  "nextPageToken"
>;
type PathParams<P extends ListPath> = ListOperation<P>["parameters"]["path"];

/**
 * Options of {@link paginate}: the list's filters and sort, and where its path needs them, path parameters.
 *
 * @example
 * ```ts
 * const items = paginate(extend, "/evaluation_sets/{id}/items", {
 *   path: { id: evaluationSetId },
 *   query: { maxPageSize: 50 },
 *   signal: AbortSignal.timeout(30_000),
 * });
 * ```
 */
export type PaginateOptions<P extends ListPath> = {
  /** The list's filters, sort and page size; `nextPageToken` is managed for you. */
  query?: Query<P>;
  /** Stop fetching pages when this aborts. */
  signal?: AbortSignal;
} & (PathParams<P> extends undefined
  ? {
      /** Not used: this list has no path parameters. */
      path?: undefined;
    }
  : {
      /** The path parameters, such as `{ id }` for `/evaluation_sets/{id}/items`. */
      path: NonNullable<PathParams<P>>;
    });

type GetFn = (
  path: string,
  init: object,
) => Promise<{ data?: Record<string, unknown>; error?: unknown }>;

/**
 * Iterates every item of a list endpoint, fetching pages as it goes and following
 * `nextPageToken` until the last page. An error answer is thrown (as an `ApiError`).
 *
 * @example
 * ```ts
 * for await (const run of paginate(extend, "/workflow_runs", { query: { batchId, maxPageSize: 100 } })) {
 *   console.log(run.id, run.status);
 * }
 * ```
 */
export async function* paginate<P extends ListPath>(
  client: ExtendClient | ThrowingExtendClient,
  path: P,
  ...[options]: PathParams<P> extends undefined ? [PaginateOptions<P>?] : [PaginateOptions<P>]
): AsyncGenerator<ListItem<P>, void, undefined> {
  const get = client.GET as unknown as GetFn;
  let nextPageToken: string | undefined;
  do {
    const { data, error } = await get(path, {
      params: {
        query: { ...options?.query, ...(nextPageToken ? { nextPageToken } : {}) },
        ...(options?.path ? { path: options.path } : {}),
      },
      ...(options?.signal ? { signal: options.signal } : {}),
    });
    if (error !== undefined || !data)
      throw isApiError(error) ? error : new Error(`GET ${path} failed: ${JSON.stringify(error)}`);
    for (const item of (data[ITEMS[path]] as ListItem<P>[] | undefined) ?? []) yield item;
    nextPageToken =
      typeof data.nextPageToken === "string" && data.nextPageToken ? data.nextPageToken : undefined;
  } while (nextPageToken);
}
