import type { ExtendClient, ThrowingExtendClient } from "./client.js";
import { isApiError, PollingTimeoutError } from "./errors.js";
import type { components } from "./generated/extend-api.js";
import { sleep } from "./transport.js";

type Schemas = components["schemas"];

/**
 * How to wait for a run: the options of {@link waitForWorkflowRun} and the other
 * `waitFor...` helpers.
 *
 * @example
 * ```ts
 * const run = await waitForWorkflowRun(extend, runId, {
 *   intervalMs: 2_000,
 *   timeoutMs: 5 * 60_000,
 *   signal: AbortSignal.timeout(10 * 60_000),
 *   onPoll: (status) => console.log("still", status),
 * });
 * ```
 */
export interface PollOptions {
  /**
   * First wait between two polls.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * Longest wait between two polls; each wait grows by `backoff` up to it.
   * @default 15000
   */
  maxIntervalMs?: number;
  /**
   * Factor each wait grows by, up to `maxIntervalMs`.
   * @default 1.5
   */
  backoff?: number;
  /**
   * Give up after this long with a `PollingTimeoutError` (the run keeps going).
   * @default 900000
   */
  timeoutMs?: number;
  /** Stop waiting, and cancel a poll in flight (rejects with the signal's reason), when this aborts. */
  signal?: AbortSignal;
  /** Called with each state seen, e.g. to show progress. */
  onPoll?: (status: string) => void;
  /**
   * Randomness for the ±25% jitter that keeps many pollers apart.
   * @default Math.random
   */
  random?: () => number;
}

type GetFn = (
  path: string,
  init: object,
) => Promise<{ data?: Record<string, unknown>; error?: unknown }>;

async function poll<T>(
  client: ExtendClient | ThrowingExtendClient,
  id: string,
  fetchOnce: (get: GetFn) => Promise<{ done: T | undefined; status: string | undefined }>,
  options: PollOptions,
): Promise<T> {
  const raw = client.GET as unknown as GetFn;
  // The signal rides on each GET too, so an abort mid-request stops the wait at once.
  const get: GetFn = (path, init) => raw(path, { ...init, signal: options.signal });
  const timeoutMs = options.timeoutMs ?? 900_000;
  const maxInterval = options.maxIntervalMs ?? 15_000;
  const random = options.random ?? Math.random;
  const deadline = Date.now() + timeoutMs;
  let interval = options.intervalMs ?? 1000;
  let status: string | undefined;
  for (;;) {
    const seen = await fetchOnce(get);
    status = seen.status;
    if (status) options.onPoll?.(status);
    if (seen.done !== undefined) return seen.done;
    const wait = Math.round(interval * (0.75 + 0.5 * random()));
    if (Date.now() + wait > deadline) throw new PollingTimeoutError(id, status, timeoutMs);
    await sleep(wait, options.signal);
    interval = Math.min(maxInterval, interval * (options.backoff ?? 1.5));
  }
}

function unwrap<T>(
  result: { data?: Record<string, unknown>; error?: unknown },
  key: string,
  what: string,
): T {
  if (result.error !== undefined || !result.data) {
    throw isApiError(result.error)
      ? result.error
      : new Error(`Polling ${what} failed: ${JSON.stringify(result.error)}`);
  }
  return result.data[key] as T;
}

const WORKFLOW_FINAL = new Set(["PROCESSED", "FAILED", "NEEDS_REVIEW", "REJECTED", "CANCELLED"]);

/**
 * Waits until a workflow run is no longer `PENDING`, `PROCESSING` or `CANCELLING` (so
 * `NEEDS_REVIEW` ends the wait), polling with growing, jittered intervals.
 *
 * @example
 * ```ts
 * const run = await waitForWorkflowRun(extend, runId, { timeoutMs: 120_000 });
 * if (run.status === "PROCESSED") console.log(run.outputs);
 * ```
 */
export function waitForWorkflowRun(
  client: ExtendClient | ThrowingExtendClient,
  id: string,
  options: PollOptions = {},
) {
  return poll<Schemas["WorkflowRun"]>(
    client,
    id,
    async (get) => {
      const run = unwrap<Schemas["WorkflowRun"]>(
        await get("/workflow_runs/{workflowRunId}", { params: { path: { workflowRunId: id } } }),
        "workflowRun",
        id,
      );
      return { done: WORKFLOW_FINAL.has(run.status) ? run : undefined, status: run.status };
    },
    options,
  );
}

/**
 * Waits until a processor run is `PROCESSED`, `FAILED` or `CANCELLED`.
 *
 * @example
 * ```ts
 * const run = await waitForProcessorRun(extend, "dpr_...");
 * ```
 */
export function waitForProcessorRun(
  client: ExtendClient | ThrowingExtendClient,
  id: string,
  options: PollOptions = {},
) {
  return poll<Schemas["ProcessorRun"]>(
    client,
    id,
    async (get) => {
      const run = unwrap<Schemas["ProcessorRun"]>(
        await get("/processor_runs/{id}", { params: { path: { id } } }),
        "processorRun",
        id,
      );
      return {
        done: run.status === "PROCESSING" || run.status === "PENDING" ? undefined : run,
        status: run.status,
      };
    },
    options,
  );
}

/**
 * Waits until an asynchronous parse has finished, and answers the full run with its chunks.
 *
 * @example
 * ```ts
 * const { id } = (await extend.POST("/parse/async", { body: { file: { fileId } } })).data!;
 * const parsed = await waitForParserRun(extend, id);
 * ```
 */
export function waitForParserRun(
  client: ExtendClient | ThrowingExtendClient,
  id: string,
  options: PollOptions = {},
) {
  return poll<Schemas["ParserRun"]>(
    client,
    id,
    async (get) => {
      const run = unwrap<Schemas["ParserRun"] | Schemas["ParserRunStatus"]>(
        await get("/parser_runs/{id}", { params: { path: { id } } }),
        "parserRun",
        id,
      );
      return { done: run.object === "parser_run" ? run : undefined, status: run.status };
    },
    options,
  );
}

/**
 * Waits until an asynchronous edit has finished, and answers the full run.
 *
 * @example
 * ```ts
 * const edited = await waitForEditRun(extend, editRunId);
 * console.log(edited.editedFile?.downloadUrl);
 * ```
 */
export function waitForEditRun(
  client: ExtendClient | ThrowingExtendClient,
  id: string,
  options: PollOptions = {},
) {
  return poll<Schemas["EditRun"]>(
    client,
    id,
    async (get) => {
      const run = unwrap<Schemas["EditRun"] | Schemas["EditRunStatus"]>(
        await get("/edit_runs/{id}", { params: { path: { id } } }),
        "editRun",
        id,
      );
      return { done: run.object === "edit_run" ? run : undefined, status: run.status };
    },
    options,
  );
}
