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
  /** A fetch taking a Request; without one, `globalThis.fetch` is called with a URL and init. */
  fetch?: (request: Request) => Promise<Response>;
  retry: ResolvedRetry;
  budget: RetryBudget;
  /** @default 300000 */
  attemptTimeoutMs: number;
  /** @default 600000 */
  totalTimeoutMs: number;
  random: () => number;
  logger: Logger;
}

/**
 * The unsafe operations as one pattern over "METHOD /path", matched at the end of the path
 * so a base URL with a path of its own (a gateway's `/proxy/...`) still finds them.
 */
const UNSAFE = new RegExp(
  `^(?:${retryUnsafeOperations
    .map((op) => op.replace(" ", " .*").replace(/\{\w+\}/g, "[^/]+"))
    .join("|")})/?$`,
);

/**
 * Whether sending a request again after an ambiguous failure is safe, from the spec's
 * `x-extend-retry-safe`: only the operations that create something are not.
 */
export function isRetrySafe(method: string, path: string): boolean {
  return !UNSAFE.test(`${method} ${path}`);
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
 * What openapi-fetch builds for each call in place of a `Request` (its `Request` option):
 * the URL and the init it would have passed, nothing parsed or copied. A `Request` costs
 * as much as the rest of a call; the transport sends this with `fetch(url, init)`, which
 * builds the one Request the runtime needs. Calls that run middleware get real Requests.
 */
export class OutgoingRequest {
  readonly url: string;
  readonly method: string;
  constructor(
    input: string | URL,
    readonly init: RequestInit = {},
  ) {
    this.url = String(input);
    this.method = init.method ?? "GET";
  }
}

/** A body that can be sent again as it is: anything but a stream. */
const reusable = (body: BodyInit | null) => !(body instanceof ReadableStream);

const abandon = () => undefined;
/** Longest delay `setTimeout` honours (beyond it, it fires at once). */
const MAX_TIMER = 2_147_483_647;

/**
 * A `fetch` that retries beneath openapi-fetch: on 408, 429, 5xx and network errors for
 * retry-safe operations, and for the others only when the request certainly was not applied
 * (429, 503, a refused connection). Bodies are replayed as serialized (uploads are
 * rebuilt); streamed bodies are sent once. Waits use full-jitter backoff or the answer's
 * `Retry-After` (up to `maxRetryAfterMs` and the overall deadline), spend from a shared
 * retry budget, and stop at once when the caller's signal aborts.
 *
 * A timed-out attempt is aborted through a signal of the transport's own, combined with the
 * caller's; the timeout also races the answer, so a fetch that ignores signals still ends
 * on time.
 */
export function createTransport(options: TransportOptions) {
  const { retry, budget, logger } = options;
  const custom = options.fetch;
  const send = (request: Request) => (custom ? custom(request) : globalThis.fetch(request));
  // Without a fetch of the caller's, no Request is built here: the runtime's fetch builds it.
  const sendInit = (url: string, init: RequestInit) =>
    custom ? custom(new Request(url, init)) : globalThis.fetch(url, init);

  return async function transport(request: Request | OutgoingRequest): Promise<Response> {
    const method = request.method;
    const url = request.url;
    const outgoing = request instanceof OutgoingRequest ? request : undefined;
    // A real Request: an upload, or a call whose middleware needed one.
    const real = request as Request;
    const userSignal = (outgoing ? outgoing.init.signal : real.signal) ?? undefined;
    const rebuild = outgoing ? undefined : rebuildable.get(real);
    let body: BodyInit | null = null;
    let replayable: boolean;
    if (outgoing) {
      body = outgoing.init.body ?? null;
      replayable = reusable(body);
    } else {
      // Text bodies (JSON, forms) are buffered to be replayed; anything else is sent once.
      const contentType = real.headers.get("content-type") ?? "";
      replayable =
        real.body === null ||
        rebuild !== undefined ||
        /json|text\/|x-www-form-urlencoded/.test(contentType);
      if (real.body !== null && replayable && !rebuild) body = await real.text();
    }
    // Bodies that would keep uploading after a timeout get a controller to stop them.
    const abortable = !replayable || rebuild !== undefined;
    const started = Date.now();
    const deadline = started + options.totalTimeoutMs;
    // Asked only when a failure could be retried: successes never pay for it.
    const safe = () => isRetrySafe(method, new URL(url).pathname);

    /** One attempt's request, as the fetch in use takes it. */
    const attemptOf = (attempt: number, signal: AbortSignal | undefined): Promise<Response> => {
      if (outgoing) {
        let init = outgoing.init;
        if (signal !== init.signal || !replayable) {
          init = { ...init, signal };
          if (!replayable) {
            (init as { duplex?: string }).duplex = "half";
            // A fetch that may follow redirects keeps a copy of a streamed body until the
            // answer arrives (Node's tees it); a stream cannot be resent anyway.
            init.redirect = "error";
          }
        }
        return sendInit(url, init);
      }
      const source = rebuild && attempt > 1 ? rebuild() : real;
      if (attempt === 1 && signal === source.signal && source.body === null) return send(source);
      const init: RequestInit & { duplex?: "half" } = { signal };
      if (!rebuild && body !== null) init.body = body;
      else if (!replayable) {
        init.body = source.body;
        init.redirect = "error";
      }
      if (rebuild || !replayable) init.duplex = "half";
      return send(new Request(source, init));
    };

    for (let attempt = 1; ; attempt++) {
      const info: RequestInfo = { method, url, attempts: attempt };
      if (userSignal?.aborted) throw userSignal.reason;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new TimeoutError(info, options.totalTimeoutMs, "overall");
      const limit = Math.min(options.attemptTimeoutMs, remaining);
      const scope = limit < options.attemptTimeoutMs ? "overall" : "attempt";
      // A timed attempt carries a signal of ours, so a timeout really stops it: an abandoned
      // request would keep its socket, and the process, alive until the server gave up.
      // Only with both timeouts off (Infinity) does a reusable body go without one.
      const timed = limit <= MAX_TIMER;
      const controller = timed || abortable ? new AbortController() : undefined;
      // The caller's signal and ours, followed by fetch for the whole call (body included).
      const signal =
        controller && userSignal
          ? AbortSignal.any([userSignal, controller.signal])
          : (controller?.signal ?? userSignal);
      let response: Response | undefined;
      let failure: unknown;
      let timedOut: Deadline | undefined;
      try {
        const sent = attemptOf(attempt, signal);
        response = await new Promise<Response>((resolve, reject) => {
          const timer = timed
            ? setTimeout(() => {
                timedOut = new Deadline(
                  scope === "overall" ? options.totalTimeoutMs : limit,
                  scope,
                );
                controller?.abort(timedOut);
                // For a fetch that ignores its signal: drop the answer if one comes after all.
                sent.then((late) => late.body?.cancel().catch(abandon), abandon);
                reject(timedOut);
              }, limit)
            : undefined;
          sent.then(
            (answer) => {
              clearTimeout(timer);
              resolve(answer);
            },
            (error: unknown) => {
              clearTimeout(timer);
              reject(error);
            },
          );
        });
      } catch (error) {
        failure = error;
      }
      if (userSignal?.aborted) throw userSignal.reason;

      let wait: number;
      if (failure !== undefined) {
        if (timedOut?.scope === "overall")
          throw new TimeoutError(info, timedOut.timeoutMs, "overall");
        const ambiguous = timedOut !== undefined || !NEVER_SENT.has(errorCode(failure) ?? "");
        const error = timedOut
          ? new TimeoutError(info, options.attemptTimeoutMs, "attempt")
          : new NetworkError(info, ambiguous, failure);
        wait = backoffDelay(attempt - 1, retry, options.random);
        const allowed =
          replayable &&
          attempt <= retry.maxRetries &&
          (!ambiguous || safe()) &&
          Date.now() + wait < deadline;
        if (!allowed || !budget.spend(retry.retryCost * 2)) {
          logger.log("error", `${method} ${url} failed`, {
            attempts: attempt,
            ambiguous,
            error: error.message,
          });
          throw error;
        }
        logger.log("warn", `${method} ${url} failed; retrying`, {
          attempt,
          waitMs: wait,
          error: error.message,
        });
      } else {
        const answer = response as Response;
        const status = answer.status;
        if (answer.ok || !RETRY_STATUSES.has(status)) {
          if (answer.ok) budget.earn();
          return done(answer, info);
        }
        const advised = retryAfterMs(answer.headers.get("retry-after"), Date.now());
        const meta: ResponseMeta = { ...info };
        if (status === 429 && advised !== undefined) meta.retryAt = new Date(Date.now() + advised);
        wait = advised ?? backoffDelay(attempt - 1, retry, options.random);
        // A 429 or a 503 says the request was not handled, so any operation may go again.
        // A wait past maxRetryAfterMs or the overall deadline is not worth it: the answer
        // itself (a RateLimitError with its retryAt) says more than a timeout would.
        if (
          !replayable ||
          !(status === 429 || status === 503 || safe()) ||
          (advised !== undefined && advised > retry.maxRetryAfterMs) ||
          Date.now() + wait >= deadline ||
          attempt > retry.maxRetries ||
          !budget.spend(retry.retryCost)
        )
          return done(answer, meta);
        logger.log("warn", `${method} ${url} → ${status}; retrying`, { attempt, waitMs: wait });
        await answer.body?.cancel().catch(abandon);
      }
      await sleep(wait, userSignal);
    }

    function done(response: Response, meta: ResponseMeta) {
      // Only error answers become ApiErrors that need it (a WeakMap entry per success is GC work).
      if (!response.ok) responseMeta.set(response, meta);
      if (logger.enabled(response.ok ? "debug" : "warn")) {
        logger.log(response.ok ? "debug" : "warn", `${method} ${url} → ${response.status}`, {
          attempts: meta.attempts,
          ms: Date.now() - started,
          requestId: response.headers.get("x-request-id") ?? undefined,
          ...(logger.logBodies && typeof body === "string" ? { body } : {}),
        });
      }
      return response;
    }
  };
}
