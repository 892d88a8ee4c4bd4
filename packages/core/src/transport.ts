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

/** Why an attempt's signal was aborted by the transport itself. */
class Deadline {
  constructor(
    readonly timeoutMs: number,
    readonly scope: "attempt" | "overall",
  ) {}
}

/**
 * The key under which the client hands the transport its per-call state, on the Request
 * object itself (openapi-fetch copies unknown init keys onto the Request it builds).
 */
export const CALL = "__extendkitCall";

/** A call's own abort controller, already on its first Request's signal, and the caller's signal. */
export interface CallState {
  controller: AbortController;
  userSignal: AbortSignal | undefined;
}

/**
 * Fetch options for one call: a controller of ours on the Request openapi-fetch builds, so
 * the first attempt needs no second Request (the costliest part of a request), relaying
 * the caller's own signal.
 */
export function callInit<T extends { signal?: AbortSignal | null } | undefined>(
  init: T,
): [T, () => void] {
  const controller = new AbortController();
  const userSignal = init?.signal ?? undefined;
  const relay = () => controller.abort(userSignal?.reason);
  if (userSignal?.aborted) relay();
  else userSignal?.addEventListener("abort", relay, { once: true });
  const state: CallState = { controller, userSignal };
  // The caller's signal may outlive many calls: let go of it when this one ends.
  const release = () => userSignal?.removeEventListener("abort", relay);
  return [{ ...init, signal: controller.signal, [CALL]: state } as T, release];
}

const NEVER = new AbortController().signal;

/**
 * A `fetch` that retries beneath openapi-fetch: on 408, 429, 5xx and network errors for
 * retry-safe operations, and for the others only when the request certainly was not applied
 * (429, 503, a refused connection). JSON bodies are buffered and replayed; uploads are
 * rebuilt; streamed bodies are sent once. Waits use full-jitter backoff or the answer's
 * `Retry-After` (up to `maxRetryAfterMs`), spend from a shared retry budget, and stop at
 * once when the caller's signal aborts.
 */
export function createTransport(options: TransportOptions) {
  const { retry, budget, logger } = options;
  const base = options.baseUrl.replace(/\/+$/, "");

  return async function transport(request: Request): Promise<Response> {
    const method = request.method;
    const url = request.url;
    const call = (request as unknown as Record<string, CallState | undefined>)[CALL];
    const userSignal = call ? (call.userSignal ?? NEVER) : request.signal;
    const contentType = request.headers.get("content-type") ?? "";
    const rebuild = rebuildable.get(request);
    const replayable =
      request.body === null || rebuild !== undefined || contentType.includes("application/json");
    const body =
      request.body !== null && replayable && !rebuild ? await request.arrayBuffer() : undefined;
    const started = Date.now();
    const deadline = started + options.totalTimeoutMs;
    // Asked only when a failure could be retried: successes never pay for it.
    const safe = () => {
      const path =
        (url.startsWith(base) ? url.slice(base.length) : new URL(url).pathname).split("?")[0] ||
        "/";
      return isRetrySafe(method, path);
    };

    for (let attempt = 1; ; attempt++) {
      const info: RequestInfo = { method, url, attempts: attempt };
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new TimeoutError(info, options.totalTimeoutMs, "overall");
      const limit = Math.min(options.attemptTimeoutMs, remaining);
      const scope = limit < options.attemptTimeoutMs ? "overall" : "attempt";
      // The first attempt of a bodiless call goes out as openapi-fetch built it.
      const reuse = attempt === 1 && call !== undefined && request.body === null;
      const controller = reuse ? call.controller : new AbortController();
      const onUser = () => controller.abort(userSignal.reason);
      if (!reuse) {
        if (userSignal.aborted) throw userSignal.reason;
        userSignal.addEventListener("abort", onUser, { once: true });
      }
      const timer = setTimeout(
        () =>
          controller.abort(
            new Deadline(scope === "overall" ? options.totalTimeoutMs : limit, scope),
          ),
        limit,
      );
      let response: Response | undefined;
      let failure: unknown;
      try {
        let attemptRequest = request;
        if (!reuse) {
          const init: RequestInit & { duplex?: "half" } = { signal: controller.signal };
          let source = request;
          if (rebuild) source = attempt === 1 ? request : rebuild();
          else if (body !== undefined) init.body = body;
          else if (!replayable) init.body = request.body;
          if (rebuild || !replayable) init.duplex = "half";
          // A fetch that may follow redirects keeps a copy of a streamed body until the
          // answer arrives (Node's tees it); a stream cannot be resent anyway.
          if (!replayable) init.redirect = "error";
          attemptRequest = new Request(source, init);
        }
        response = await options.fetch(attemptRequest);
      } catch (error) {
        failure = error;
      } finally {
        clearTimeout(timer);
        if (!reuse) userSignal.removeEventListener("abort", onUser);
      }
      if (userSignal.aborted) throw userSignal.reason;

      let wait: number | undefined;
      if (failure !== undefined) {
        const reason = controller.signal.reason;
        if (reason instanceof Deadline && reason.scope === "overall")
          throw new TimeoutError(info, reason.timeoutMs, "overall");
        const timedOut = reason instanceof Deadline;
        const ambiguous = timedOut || !NEVER_SENT.has(errorCode(failure) ?? "");
        const error = timedOut
          ? new TimeoutError(info, options.attemptTimeoutMs, "attempt")
          : new NetworkError(info, ambiguous, failure);
        const allowed = replayable && attempt <= retry.maxRetries && (!ambiguous || safe());
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
        if (response.ok || !RETRY_STATUSES.has(status)) {
          if (response.ok) budget.earn();
          return done(response, info);
        }
        const advised = retryAfterMs(response.headers.get("retry-after"), Date.now());
        const meta: ResponseMeta = { ...info };
        if (status === 429 && advised !== undefined) meta.retryAt = new Date(Date.now() + advised);
        // A 429 or a 503 says the request was not handled, so any operation may go again.
        const retryable = replayable && (status === 429 || status === 503 || safe());
        const tooLong = advised !== undefined && advised > retry.maxRetryAfterMs;
        if (!retryable || tooLong || attempt > retry.maxRetries || !budget.spend(retry.retryCost))
          return done(response, meta);
        wait = advised ?? backoffDelay(attempt - 1, retry, options.random);
        logger.log("warn", `${method} ${url} → ${status}; retrying`, { attempt, waitMs: wait });
        await response.body?.cancel().catch(() => undefined);
      }
      if (Date.now() + (wait ?? 0) >= deadline)
        throw new TimeoutError(
          { method, url, attempts: attempt },
          options.totalTimeoutMs,
          "overall",
        );
      await sleep(wait ?? 0, userSignal);
    }

    function done(response: Response, meta: ResponseMeta) {
      responseMeta.set(response, meta);
      if (logger.enabled(response.ok ? "debug" : "warn")) {
        logger.log(response.ok ? "debug" : "warn", `${method} ${url} → ${response.status}`, {
          attempts: meta.attempts,
          ms: Date.now() - started,
          requestId: response.headers.get("x-request-id") ?? undefined,
          ...(logger.logBodies && body ? { body: new TextDecoder().decode(body) } : {}),
        });
      }
      return response;
    }
  };
}
