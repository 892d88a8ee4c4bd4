import openapiFetch, {
  type Client,
  type FetchResponse,
  type MaybeOptionalInit,
} from "openapi-fetch";
import { environmentVariable } from "./environment.js";
import { ApiError, RateLimitError } from "./errors.js";
import type { components, paths } from "./generated/extend-api.js";
import { API_VERSION } from "./generated/operations.js";
import { createLogger, type LoggingOptions, type LogLevel } from "./logging.js";
import { createRetryBudget, type RetryOptions, resolveRetry } from "./retry.js";
import { createTransport, OutgoingRequest, responseMeta } from "./transport.js";

/**
 * openapi-fetch's `createClient`. Its CommonJS build exports it as `exports.default`, and
 * our CommonJS build imports CommonJS the way Node does (the default import is the whole
 * `module.exports`), so there it sits one `.default` further down.
 */
const createFetchClient: typeof openapiFetch =
  (openapiFetch as unknown as { default?: typeof openapiFetch }).default ?? openapiFetch;

/** Production root of the Extend API. Paths hang directly off it, with no version prefix. */
export const DEFAULT_BASE_URL = "https://api.extend.ai";

/** A version the `x-extend-api-version` header accepts. The generated types describe `2025-04-21`. */
export type ApiVersion = components["schemas"]["ApiVersion"];

/**
 * Options of {@link createClient}, all optional. `token` and `baseUrl` default to the
 * `EXTEND_API_KEY` and `EXTEND_BASE_URL` environment variables where the runtime has an
 * environment (never in a browser page); the rest tune how long requests may take, how they
 * are retried and what is logged.
 *
 * @example
 * ```ts
 * const extend = createClient({
 *   token: process.env.EXTEND_API_KEY!,
 *   workspaceId: process.env.EXTEND_WORKSPACE_ID,
 *   retry: { maxRetries: 4, maxRetryAfterMs: 30_000 },
 *   timeoutMs: 60_000,
 *   logging: "info",
 * });
 * ```
 */
export interface ClientOptions {
  /**
   * Extend API key, sent on every request as `Authorization: Bearer <token>`.
   * Keep it on the server: browser code should call your backend (see `@extendkit/express`
   * and `@extendkit/next` for a safe proxy). Without it, the `EXTEND_API_KEY` environment
   * variable is used where the runtime has one (Node, Bun, Deno, edge runtimes; never a
   * browser page); with neither, `createClient` throws a `TypeError` saying so.
   * @default process.env.EXTEND_API_KEY
   */
  token?: string;
  /**
   * Root URL of the API. Point it at `@extendkit/emulator` to work offline. Without it, the
   * `EXTEND_BASE_URL` environment variable is used where the runtime has one (the
   * emulator's banner prints the `export` line), else the production API.
   * @default process.env.EXTEND_BASE_URL ?? "https://api.extend.ai"
   */
  baseUrl?: string;
  /**
   * Value of the `x-extend-api-version` header. The generated types describe 2025-04-21;
   * another version may answer with shapes they do not describe.
   * @default "2025-04-21"
   */
  apiVersion?: ApiVersion;
  /**
   * Workspace to act in, sent as `x-extend-workspace-id`. Required with organisation-scoped
   * keys, optional with workspace keys.
   * @default undefined
   */
  workspaceId?: string;
  /**
   * The `fetch` to send requests with: inject one for tests, proxies or instrumentation.
   * @default globalThis.fetch
   */
  fetch?: (input: Request) => Promise<Response>;
  /**
   * Extra headers sent on every request. `Authorization`, `x-extend-api-version` and
   * `x-extend-workspace-id` come from the options above and cannot be overridden here.
   * @default {}
   */
  headers?: Record<string, string>;
  /**
   * Retry policy, or `false` for none. See {@link RetryOptions} for each default.
   * @default { maxRetries: 2, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60000, budget: 100, retryCost: 5 }
   */
  retry?: RetryOptions | false;
  /**
   * Longest wait for one attempt's answer. The sync endpoints (`POST /parse`, `POST /edit`,
   * `sync: true` processor runs) take up to 5 minutes. A timed-out attempt is aborted.
   * `Infinity` (with `totalTimeoutMs: Infinity`) turns timeouts off.
   * @default 300000
   */
  timeoutMs?: number;
  /**
   * Longest time for a whole call, retries and their waits included.
   * @default 600000
   */
  totalTimeoutMs?: number;
  /**
   * Throw an {@link ApiError} for error answers instead of returning it as `error` (network
   * failures throw in both styles, as in openapi-fetch).
   * @default false
   */
  throwOnError?: boolean;
  /**
   * Logging, off by default (or set `EXTENDKIT_LOG=debug|info|warn|error`). The token and
   * headers are never logged; bodies only with `logBodies: true`.
   * @default "off"
   */
  logging?: LoggingOptions | LogLevel;
  /**
   * Source of randomness for backoff jitter, for reproducible tests.
   * @default Math.random
   */
  random?: () => number;
}

/** An openapi-fetch client typed by every path of the Extend API; error answers come back as {@link ApiError} values. */
export type ExtendClient = Client<paths>;

type HttpMethod = "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace";
type PathsWith<M extends HttpMethod> = {
  [P in keyof paths]: paths[P] extends { [K in M]: unknown } ? P : never;
}[keyof paths];
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type InitArg<Init> =
  RequiredKeys<Init> extends never
    ? [(Init & { [key: string]: unknown })?]
    : [Init & { [key: string]: unknown }];
type ThrowingMethod<M extends HttpMethod> = <
  P extends PathsWith<M>,
  Init extends MaybeOptionalInit<paths[P], M>,
>(
  url: P,
  ...init: InitArg<Init>
) => Promise<{
  data: Extract<
    FetchResponse<
      Extract<paths[P][M], Record<string | number, unknown>>,
      Init,
      `${string}/${string}`
    >,
    { data: unknown }
  >["data"];
  response: Response;
}>;

/** The client with `throwOnError: true`: calls resolve to `{ data, response }` or throw an {@link ApiError}. */
export interface ThrowingExtendClient extends Omit<ExtendClient, "GET" | "POST" | "DELETE"> {
  /** Sends a `GET`; resolves to `{ data, response }` or throws an {@link ApiError}. */
  GET: ThrowingMethod<"get">;
  /** Sends a `POST`; resolves to `{ data, response }` or throws an {@link ApiError}. */
  POST: ThrowingMethod<"post">;
  /** Sends a `DELETE`; resolves to `{ data, response }` or throws an {@link ApiError}. */
  DELETE: ThrowingMethod<"delete">;
}

/** What helpers such as `uploadFile()` need from a client made by {@link createClient}. */
export interface ClientInternals {
  transport: (request: Request) => Promise<Response>;
  baseUrl: string;
  headers: Record<string, string>;
  throwOnError: boolean;
}

/** Internals of each client made by {@link createClient}, for the helpers of this package. */
export const clientInternals = new WeakMap<object, ClientInternals>();

/**
 * Creates a client for the Extend API, typed from the OpenAPI spec: paths, parameters,
 * bodies and responses are checked at compile time, and every call resolves to
 * openapi-fetch's `{ data, error, response }`, with errors as {@link ApiError} values (or
 * thrown, with `throwOnError`). Requests are retried beneath openapi-fetch per the spec's
 * retry safety, with timeouts per attempt and overall.
 *
 * @example
 * ```ts
 * import { createClient } from "@extendkit/core";
 *
 * const extend = createClient({ token: process.env.EXTEND_API_KEY! });
 * const { data, error } = await extend.POST("/workflow_runs", {
 *   body: { workflowId: "workflow_abc", rawTexts: ["Invoice #42, total $120.00"] },
 * });
 * if (error) throw error; // an ApiError: status, code, requestId, method, url, attempts
 * console.log(data.workflowRuns[0]?.status); // "PENDING"
 * ```
 */
export function createClient(options: ClientOptions & { throwOnError: true }): ThrowingExtendClient;
export function createClient(options?: ClientOptions): ExtendClient;
export function createClient(options: ClientOptions = {}): ExtendClient | ThrowingExtendClient {
  const token = checkToken(options.token);
  const baseUrl = checkBaseUrl(
    options.baseUrl ?? environmentVariable("EXTEND_BASE_URL") ?? DEFAULT_BASE_URL,
  );
  const headers: Record<string, string> = { ...stripReserved(options.headers) };
  headers.authorization = `Bearer ${token}`;
  headers["x-extend-api-version"] = options.apiVersion ?? API_VERSION;
  if (options.workspaceId) headers["x-extend-workspace-id"] = options.workspaceId;

  const retry = resolveRetry(options.retry);
  const transport = createTransport({
    ...(options.fetch ? { fetch: options.fetch } : {}),
    retry,
    budget: createRetryBudget(retry.budget),
    attemptTimeoutMs: checkTimeout("timeoutMs", options.timeoutMs ?? 300_000),
    totalTimeoutMs: checkTimeout("totalTimeoutMs", options.totalTimeoutMs ?? 600_000),
    random: options.random ?? Math.random,
    logger: createLogger(options.logging),
  });
  const raw = createFetchClient<paths>({
    baseUrl,
    headers,
    fetch: transport as (request: Request) => Promise<Response>,
    Request: OutgoingRequest as unknown as typeof Request,
  });
  const throwOnError = options.throwOnError === true;

  // Error answers become ApiError values (which are also the error bodies the spec types).
  const finish = (result: { error?: unknown; response: Response }) => {
    if (result.response.ok) return result;
    const error = toApiError(result.response, result.error);
    if (throwOnError) throw error;
    return { error, response: result.response };
  };
  type Init = { middleware?: unknown[]; fetch?: unknown; Request?: unknown } | undefined;
  // Middleware and a per-call fetch get real Requests; otherwise openapi-fetch builds light
  // OutgoingRequests. Once middleware has been added, every call builds real ones.
  let middleware = false;
  const withRequest = (init: Init) =>
    middleware || init?.middleware?.length || init?.fetch
      ? { ...init, Request: globalThis.Request }
      : init;
  type Call = (path: unknown, init?: Init) => Promise<{ error?: unknown; response: Response }>;
  const wrap = (call: Call) => (path: unknown, init?: Init) =>
    call(path, withRequest(init)).then(finish);
  const request = raw.request as unknown as (
    method: unknown,
    path: unknown,
    init?: Init,
  ) => Promise<{ error?: unknown; response: Response }>;
  const client = {
    ...raw,
    use: (...added: Parameters<typeof raw.use>) => {
      raw.use(...added);
      middleware ||= added.some(Boolean);
    },
    request: (method: unknown, path: unknown, init?: Init) =>
      request(method, path, withRequest(init)).then(finish),
  } as unknown as ExtendClient;
  for (const method of ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"])
    (client as unknown as Record<string, unknown>)[method] = wrap(
      (raw as unknown as Record<string, Call>)[method] as Call,
    );
  clientInternals.set(client, { transport, baseUrl, headers, throwOnError });
  return client;
}

/** The typed error for an error answer, with what the transport learned about the request. */
export function toApiError(response: Response, body: unknown): ApiError {
  const meta = responseMeta.get(response) ?? { method: "?", url: response.url, attempts: 1 };
  const requestId = response.headers.get("x-request-id") ?? undefined;
  return response.status === 429
    ? new RateLimitError(body, meta, meta.retryAt, requestId)
    : new ApiError(response.status, body, meta, requestId);
}

/** Option checks: each failure is a TypeError that says what to pass instead. */
function invalid(option: string, wanted: string, got: string): never {
  throw new TypeError(`createClient: \`${option}\` must be ${wanted}; got ${got}.`);
}

function checkToken(given: unknown): string {
  const token = given ?? environmentVariable("EXTEND_API_KEY");
  // A trailing newline from a file or an env var is the usual cause of whitespace.
  if (typeof token !== "string" || !token || /\s/.test(token))
    invalid(
      "token",
      "an API key with no spaces or line breaks (unset: EXTEND_API_KEY)",
      // Never the key itself: this message may end up in logs.
      typeof token === "string" ? `${token.length} characters` : String(token),
    );
  return token;
}

function checkTimeout(name: string, ms: number): number {
  if (!(ms > 0)) invalid(name, "a positive number of ms, or Infinity", `${ms}`);
  return ms;
}

function checkBaseUrl(baseUrl: string): string {
  if (!/^https?:\/\/[^/]/.test(baseUrl))
    invalid("baseUrl", `an absolute http(s) URL such as "${DEFAULT_BASE_URL}"`, `"${baseUrl}"`);
  // openapi-fetch appends "/path" to the base, so a trailing slash would double it.
  return baseUrl.replace(/\/+$/, "");
}

const RESERVED = new Set(["authorization", "x-extend-api-version", "x-extend-workspace-id"]);

function stripReserved(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!RESERVED.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}
