import type { components } from "./generated/extend-api.js";

type KnownErrorCode = components["schemas"]["KnownErrorCode"];

const BRAND = Symbol.for("extendkit.error");

/** Where a request went and how many times it was sent. */
export interface RequestInfo {
  /** The HTTP method, such as `GET` or `POST`. */
  method: string;
  /** The full URL the request was sent to. */
  url: string;
  /** How many times the request was sent (1 when it was not retried). */
  attempts: number;
}

/**
 * Base class of every error extendkit raises or returns. Use {@link isExtendKitError} (or
 * {@link isApiError}) rather than `instanceof` when errors may cross realms or package
 * copies.
 *
 * @example
 * ```ts
 * try {
 *   await waitForWorkflowRun(extend, runId);
 * } catch (error) {
 *   if (error instanceof ExtendKitError) console.error(`${error.name}: ${error.message}`);
 *   else throw error;
 * }
 * ```
 */
export class ExtendKitError extends Error {
  /** Set on every extendkit error, so a copy of the class from another bundle is still recognised. */
  readonly [BRAND] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Whether `value` is an extendkit error, from this copy of the package or any other
 * (bundles, iframes, workers).
 *
 * @example
 * ```ts
 * if (isExtendKitError(error)) console.error(error.name, error.message);
 * ```
 */
export function isExtendKitError(value: unknown): value is ExtendKitError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  );
}

/**
 * An error answer of the API. It carries the answer's body fields (`error`, `code`,
 * `message`, `requestId`, `retryable`) and the request's status, method, URL and attempts.
 * As a value it is also the error body the spec describes, so openapi-fetch's typed
 * `error` stays true.
 *
 * @example
 * ```ts
 * const { error } = await extend.GET("/files/{id}", { params: { path: { id: fileId } } });
 * if (isApiError(error) && error.status === 404) console.log("gone:", error.requestId);
 * ```
 */
export class ApiError extends ExtendKitError {
  /** Always `false`, as in the API's error bodies. */
  readonly success = false as const;
  /** The answer's HTTP status, such as 404 or 429. */
  readonly status: number;
  /** The API's machine-readable code, such as `NOT_FOUND` or `RATE_LIMIT_EXCEEDED`. */
  readonly code: KnownErrorCode | (string & {}) | undefined;
  /** The API's description of the problem (same text as `message`). */
  readonly error: string;
  /** The API's request id (from the body or the `x-request-id` header), to quote to Extend support. */
  readonly requestId: string | undefined;
  /** Whether sending the same request again may succeed. */
  readonly retryable: boolean;
  /** The HTTP method of the request. */
  readonly method: string;
  /** The full URL of the request. */
  readonly url: string;
  /** How many times the request was sent, retries included. */
  readonly attempts: number;
  /** The error body as the API sent it. */
  readonly body: unknown;

  constructor(status: number, body: unknown, request: RequestInfo, requestId?: string) {
    const fields = (typeof body === "object" && body !== null ? body : {}) as Record<
      string,
      unknown
    >;
    const text =
      (typeof fields.message === "string" && fields.message) ||
      (typeof fields.error === "string" && fields.error) ||
      (typeof body === "string" && body) ||
      `HTTP ${status}`;
    super(`${request.method} ${request.url} failed with ${status}: ${text}`);
    this.status = status;
    this.code = typeof fields.code === "string" ? fields.code : undefined;
    this.error = text;
    this.requestId =
      (typeof fields.requestId === "string" ? fields.requestId : undefined) ?? requestId;
    this.retryable =
      typeof fields.retryable === "boolean" ? fields.retryable : status === 429 || status >= 500;
    this.method = request.method;
    this.url = request.url;
    this.attempts = request.attempts;
    this.body = body;
  }
}

/**
 * A 429 answer whose wait is longer than the client will sleep (`retry.maxRetryAfterMs`),
 * or that came after the last retry. `retryAt` says when the API will take the request.
 *
 * @example
 * ```ts
 * const { error } = await extend.POST("/workflow_runs", { body: { workflowId, files: [{ fileId }] } });
 * if (error instanceof RateLimitError) console.log("rate-limited until", error.retryAt?.toISOString());
 * ```
 */
export class RateLimitError extends ApiError {
  /** When to send the request again, from the answer's `Retry-After`; undefined if it sent none. */
  readonly retryAt: Date | undefined;

  constructor(body: unknown, request: RequestInfo, retryAt: Date | undefined, requestId?: string) {
    super(429, body, request, requestId);
    this.retryAt = retryAt;
    if (retryAt) this.message += ` (retry at ${retryAt.toISOString()})`;
  }
}

/**
 * The request failed without an answer: the connection was refused or dropped. When
 * `ambiguous` is true the request may have reached the API and taken effect: for an
 * operation that creates something, check before sending it again.
 *
 * @example
 * ```ts
 * try {
 *   await extend.POST("/workflow_runs", { body: { workflowId, files: [{ fileId }] } });
 * } catch (error) {
 *   if (error instanceof NetworkError && error.ambiguous) {
 *     // The run may exist: list recent runs before sending the request again.
 *   }
 *   throw error;
 * }
 * ```
 */
export class NetworkError extends ExtendKitError {
  /** The HTTP method of the request. */
  readonly method: string;
  /** The full URL of the request. */
  readonly url: string;
  /** How many times the request was sent, retries included. */
  readonly attempts: number;
  /** Whether the request may have reached the API and taken effect. */
  readonly ambiguous: boolean;

  constructor(request: RequestInfo, ambiguous: boolean, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `${request.method} ${request.url} failed without an answer after ${request.attempts} attempt(s): ${detail}` +
        (ambiguous ? ". It may have been applied: check before sending it again." : ""),
      { cause },
    );
    this.method = request.method;
    this.url = request.url;
    this.attempts = request.attempts;
    this.ambiguous = ambiguous;
  }
}

/**
 * The request took longer than a timeout (per attempt, or overall). Always ambiguous.
 *
 * @example
 * ```ts
 * const fast = createClient({ token: process.env.EXTEND_API_KEY!, timeoutMs: 10_000 });
 * try {
 *   await fast.GET("/workflow_runs/{workflowRunId}", { params: { path: { workflowRunId: runId } } });
 * } catch (error) {
 *   if (error instanceof TimeoutError) console.warn(`${error.scope} timeout after ${error.timeoutMs} ms`);
 *   else throw error;
 * }
 * ```
 */
export class TimeoutError extends NetworkError {
  /** The limit that was hit, in milliseconds. */
  readonly timeoutMs: number;
  /** Which limit was hit: one attempt's `timeoutMs`, or the whole call's `totalTimeoutMs`. */
  readonly scope: "attempt" | "overall";

  constructor(request: RequestInfo, timeoutMs: number, scope: "attempt" | "overall") {
    super(request, true, new Error(`no answer within ${timeoutMs} ms (${scope} timeout)`));
    this.timeoutMs = timeoutMs;
    this.scope = scope;
  }
}

/**
 * A run did not reach a final status before the polling deadline. The run itself goes on:
 * wait for it again later, or let a webhook tell you when it is done.
 *
 * @example
 * ```ts
 * try {
 *   await waitForWorkflowRun(extend, runId, { timeoutMs: 60_000 });
 * } catch (error) {
 *   if (error instanceof PollingTimeoutError) console.log(error.runId, "is still", error.lastStatus);
 *   else throw error;
 * }
 * ```
 */
export class PollingTimeoutError extends ExtendKitError {
  /** The id of the run that was awaited. */
  readonly runId: string;
  /** The last status seen. */
  readonly lastStatus: string | undefined;
  /** How long the wait lasted before giving up, in milliseconds. */
  readonly timeoutMs: number;

  constructor(runId: string, lastStatus: string | undefined, timeoutMs: number) {
    super(
      `Run ${runId} is still ${lastStatus ?? "unknown"} after ${timeoutMs} ms; wait longer (timeoutMs) or come back later.`,
    );
    this.runId = runId;
    this.lastStatus = lastStatus;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Whether `value` is an {@link ApiError} (any copy of the package).
 *
 * @example
 * ```ts
 * const { error } = await extend.GET("/files/{id}", { params: { path: { id: fileId } } });
 * if (isApiError(error) && error.code === "NOT_FOUND") console.log("no such file");
 * ```
 */
export function isApiError(value: unknown): value is ApiError {
  return isExtendKitError(value) && typeof (value as ApiError).status === "number";
}
