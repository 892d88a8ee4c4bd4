import { NetworkError, type RequestInfo, TimeoutError } from "./errors.js";
import { retryUnsafeOperations } from "./generated/operations.js";
import type { Logger } from "./logging.js";
import { backoffDelay, type ResolvedRetry, type RetryBudget, retryAfterMs } from "./retry.js";

/** What the transport learned about a request, read by the client when it builds errors. */
export interface ResponseMeta extends RequestInfo {
  /** For a 429 left unretried: when the API said to come back. */
  retryAt?: Date;
}

/** Metadata of the answers the transport handed back. */
export const responseMeta = new WeakMap<Response, ResponseMeta>();

/**
 * Requests whose body the transport cannot buffer (multipart uploads) but that can be
 * built again for another attempt: the transport calls the factory instead of replaying.
 */
export const rebuildable = new WeakMap<Request, () => Request>();

export interface TransportOptions {
  fetch: (request: Request) => Promise<Response>;
  baseUrl: string;
  retry: ResolvedRetry;
  budget: RetryBudget;
  /** @default 300000 */
  attemptTimeoutMs: number;
  /** @default 600000 */
  totalTimeoutMs: number;
  random: () => number;
  logger: Logger;
}

const UNSAFE = retryUnsafeOperations.map(([method, path]) => ({
  method,
  pattern: new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+")}/?$`),
}));

/**
 * Whether sending a request again after an ambiguous failure is safe, from the spec's
 * `x-extend-retry-safe`: only the operations that create something are not.
 */
export function isRetrySafe(method: string, path: string): boolean {
  return !UNSAFE.some((op) => op.method === method && op.pattern.test(path));
}

/** Statuses worth another attempt: timeouts, rate limits and server errors. */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Failures where the request certainly did not reach the API. */
const NEVER_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);

function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string } })?.cause;
  return cause?.code ?? (error as { code?: string })?.code;
}

/** Waits `ms`, or rejects at once when `signal` aborts (with its reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

class Deadline {
  constructor(readonly timeoutMs: number) {}
}

/**
 * A `fetch` that retries beneath openapi-fetch: on 408, 429, 5xx and network errors for
 * retry-safe operations, and for the others only when the request certainly was not applied
 * (429, 503, a refused connection). JSON bodies are buffered and replayed; multipart and
 * streamed bodies are sent once. Waits use full-jitter backoff or the answer's
 * `Retry-After` (up to `maxRetryAfterMs`), spend from a shared retry budget, and stop at
 * once when the caller's signal aborts.
 */
export function createTransport(options: TransportOptions) {
  const { retry, budget, logger } = options;
  const basePath = new URL(options.baseUrl).pathname.replace(/\/$/, "");

  return async function transport(request: Request): Promise<Response> {
    const method = request.method;
    const url = request.url;
    const path = new URL(url).pathname.slice(basePath.length) || "/";
    const safe = isRetrySafe(method, path);
    const contentType = request.headers.get("content-type") ?? "";
    const rebuild = rebuildable.get(request);
    const replayable =
      request.body === null || rebuild !== undefined || contentType.includes("application/json");
    const body =
      request.body !== null && replayable && !rebuild ? await request.arrayBuffer() : undefined;
    const userSignal = request.signal;

    const overall = new AbortController();
    const overallTimer = setTimeout(
      () => overall.abort(new Deadline(options.totalTimeoutMs)),
      options.totalTimeoutMs,
    );
    const started = Date.now();
    try {
      for (let attempt = 1; ; attempt++) {
        const info: RequestInfo = { method, url, attempts: attempt };
        const controller = new AbortController();
        const attemptTimer = setTimeout(
          () => controller.abort(new Deadline(options.attemptTimeoutMs)),
          options.attemptTimeoutMs,
        );
        const relay = (source: AbortSignal) => () => controller.abort(source.reason);
        const onUser = relay(userSignal);
        const onOverall = relay(overall.signal);
        userSignal.addEventListener("abort", onUser, { once: true });
        overall.signal.addEventListener("abort", onOverall, { once: true });
        if (userSignal.aborted) onUser();
        let response: Response | undefined;
        let failure: unknown;
        try {
          const init: RequestInit & { duplex?: "half" } = { signal: controller.signal };
          let source = request;
          if (rebuild) source = attempt === 1 ? request : rebuild();
          else if (body !== undefined) init.body = body;
          else if (!replayable) {
            init.body = request.body;
            init.duplex = "half";
          }
          if (rebuild || !replayable) init.duplex = "half";
          response = await options.fetch(new Request(source, init));
        } catch (error) {
          failure = error;
        } finally {
          clearTimeout(attemptTimer);
          userSignal.removeEventListener("abort", onUser);
          overall.signal.removeEventListener("abort", onOverall);
        }

        if (userSignal.aborted) throw userSignal.reason;
        if (overall.signal.aborted) throw new TimeoutError(info, options.totalTimeoutMs, "overall");

        let wait: number | undefined;
        if (failure !== undefined) {
          const timedOut = controller.signal.reason instanceof Deadline;
          const ambiguous = timedOut || !NEVER_SENT.has(errorCode(failure) ?? "");
          const error = timedOut
            ? new TimeoutError(info, options.attemptTimeoutMs, "attempt")
            : new NetworkError(info, ambiguous, failure);
          const allowed = replayable && (safe || !ambiguous) && attempt <= retry.maxRetries;
          if (!allowed || !budget.spend(retry.retryCost * 2)) {
            logger.log("error", `${method} ${url} failed`, {
              attempts: attempt,
              ambiguous,
              error: error.message,
            });
            throw error;
          }
          wait = backoffDelay(attempt - 1, retry, options.random);
          logger.log("warn", `${method} ${url} failed; retrying`, {
            attempt,
            waitMs: wait,
            error: error.message,
          });
        } else if (response) {
          const status = response.status;
          const advised = retryAfterMs(response.headers.get("retry-after"), Date.now());
          const meta: ResponseMeta = { ...info };
          if (status === 429 && advised !== undefined)
            meta.retryAt = new Date(Date.now() + advised);
          // A 429 or a 503 says the request was not handled, so any operation may go again.
          const unapplied = status === 429 || status === 503;
          const retryable = RETRY_STATUSES.has(status) && replayable && (safe || unapplied);
          const tooLong = advised !== undefined && advised > retry.maxRetryAfterMs;
          if (
            !retryable ||
            tooLong ||
            attempt > retry.maxRetries ||
            !budget.spend(retry.retryCost)
          ) {
            if (response.ok) budget.earn();
            responseMeta.set(response, meta);
            logger.log(response.ok ? "debug" : "warn", `${method} ${url} → ${status}`, {
              attempts: attempt,
              ms: Date.now() - started,
              requestId: response.headers.get("x-request-id") ?? undefined,
              ...(logger.logBodies && body ? { body: new TextDecoder().decode(body) } : {}),
            });
            return response;
          }
          wait = advised ?? backoffDelay(attempt - 1, retry, options.random);
          logger.log("warn", `${method} ${url} → ${status}; retrying`, { attempt, waitMs: wait });
          await response.body?.cancel().catch(() => undefined);
        }
        try {
          await sleep(wait ?? 0, AbortSignal.any([userSignal, overall.signal]));
        } catch {
          if (userSignal.aborted) throw userSignal.reason;
          throw new TimeoutError(
            { method, url, attempts: attempt },
            options.totalTimeoutMs,
            "overall",
          );
        }
      }
    } finally {
      clearTimeout(overallTimer);
    }
  };
}
