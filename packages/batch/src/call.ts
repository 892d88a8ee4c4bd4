import { isApiError, NetworkError } from "@extendkit/core";
import { fullJitter, type Gate, type RetryBudget } from "./gate.js";
import type { SharedRateGate } from "./journal.js";

/**
 * How the runner retries one request (the `retry` option of {@link runBatch}).
 *
 * @example
 * ```ts
 * const job = runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: ["invoices/0001.pdf"],
 *   retry: { maxAttempts: 4, baseDelayMs: 1_000, maxRetryAfterMs: 60_000 },
 * });
 * ```
 */
export interface RetryPolicy {
  /**
   * Attempts per request, the first included, for failures that are safe to retry.
   * @default 8
   */
  maxAttempts?: number;
  /**
   * Backoff base: the first retry waits up to this long (full jitter), doubling each time.
   * @default 500
   */
  baseDelayMs?: number;
  /**
   * Backoff cap.
   * @default 30000
   */
  maxDelayMs?: number;
  /**
   * Longest `Retry-After` honoured; a longer one fails the request with its `RateLimitError`.
   * @default 300000
   */
  maxRetryAfterMs?: number;
}

/** What one request came to, after the retries it was allowed. */
export type CallResult<T> =
  | { ok: true; data: T }
  /** The API refused it (or it kept failing); nothing was applied. */
  | { ok: false; ambiguous: false; error: Error }
  /** It may have been applied: the caller must check before sending it again. */
  | { ok: false; ambiguous: true; error: Error };

export interface CallContext {
  gate: Gate;
  budget: RetryBudget;
  policy: Required<RetryPolicy>;
  signal: AbortSignal;
  random: () => number;
  /** Counts retries, for the job's statistics. */
  onRetry: () => void;
  /** The server's clock, learned from the `Date` header of its answers. */
  clock: ServerClock;
  /** A rate shared with the job's other runners: taken before each request, paused by a 429. */
  shared?: SharedRateGate;
}

/**
 * The offset between the server's clock and ours. Times compared with the server's
 * timestamps (when looking for runs a request may have created) are taken on its clock, so a
 * skewed local clock cannot hide them. A `Date` header has whole seconds: each answer bounds
 * the offset (the server stamped it at a time in [date, date + 1 s), between the request's
 * send and the answer's arrival), and the bounds narrow with every answer, to a few
 * milliseconds on a fast link.
 */
export class ServerClock {
  private lo = Number.NEGATIVE_INFINITY;
  private hi = Number.POSITIVE_INFINITY;
  /** Whether an answer has told the server's time yet. */
  known = false;

  /** Now, on the server's clock. */
  now(): number {
    return Date.now() + (this.known ? (this.lo + this.hi) / 2 : 0);
  }

  /** Learns from an answer's `Date` header; `sentAt` is when its request went out (local). */
  observe(response: Response | undefined, sentAt: number = Date.now()): void {
    const date = response?.headers.get("date");
    const at = date ? Date.parse(date) : Number.NaN;
    if (Number.isNaN(at)) return;
    const lo = at - Date.now();
    const hi = at + 1000 - sentAt;
    // Bounds that do not meet mean a clock moved (ours or the server's): start over.
    if (lo > this.hi || hi < this.lo) {
      this.lo = lo;
      this.hi = hi;
    } else {
      this.lo = Math.max(this.lo, lo);
      this.hi = Math.min(this.hi, hi);
    }
    this.known = true;
  }
}

type Answer<T> = { data?: T; error?: unknown; response?: Response };

// A 500, 502, 504 or 408 says the server got the request and something went wrong after:
// for a request that creates runs, the runs may exist.
export const AMBIGUOUS_STATUSES: ReadonlySet<number> = new Set([408, 500, 502, 504]);

/**
 * Sends a request through the gate with the runner's retry rules. `createsRuns` marks the
 * requests that must never be sent twice blindly: their ambiguous failures come back to the
 * caller (to reconcile) instead of being retried here.
 */
export async function call<T>(
  ctx: CallContext,
  send: (signal: AbortSignal) => Promise<Answer<T>>,
  createsRuns: boolean,
): Promise<CallResult<T>> {
  const { gate, budget, policy } = ctx;
  let failures = 0;
  let throttles = 0;
  for (;;) {
    await gate.acquire(ctx.signal);
    if (ctx.shared)
      await ctx.shared.take(ctx.signal).catch((error: unknown) => {
        gate.release();
        throw error;
      });
    let answer: Answer<T> | undefined;
    let thrown: unknown;
    // Each request gets its own short-lived signal: handing the job's long-lived one to
    // fetch makes every request's AbortSignal.any() hang on to it until the job ends.
    const request = new AbortController();
    const abort = () => request.abort(ctx.signal.reason);
    ctx.signal.addEventListener("abort", abort, { once: true });
    const sentAt = Date.now();
    try {
      answer = await send(request.signal);
    } catch (error) {
      thrown = error;
    } finally {
      ctx.signal.removeEventListener("abort", abort);
      gate.release();
    }
    ctx.signal.throwIfAborted();
    ctx.clock.observe(answer?.response, sentAt);
    if (answer && !answer.error && answer.response?.ok !== false) {
      gate.success();
      budget.earn();
      return { ok: true, data: answer.data as T };
    }
    const error = (answer?.error ?? thrown) as Error;
    let wait: number;
    if (isApiError(answer?.error)) {
      const status = answer.error.status;
      const advised = retryAfterMs(answer.response?.headers.get("retry-after") ?? null);
      if (status === 429) {
        if (advised !== undefined && advised > policy.maxRetryAfterMs)
          return { ok: false, ambiguous: false, error };
        if (++throttles > 50) return { ok: false, ambiguous: false, error };
        if (advised === undefined) budget.spend("status", describe(error));
        // Every runner of the job waits, not only this one.
        if (advised !== undefined) await ctx.shared?.pause(advised);
        gate.throttled(
          advised ?? fullJitter(throttles, policy.baseDelayMs, policy.maxDelayMs, ctx.random),
        );
        ctx.onRetry();
        continue;
      }
      if (status === 503) {
        if (advised !== undefined && advised > policy.maxRetryAfterMs)
          return { ok: false, ambiguous: false, error };
        budget.spend("status", describe(error));
        wait = advised ?? fullJitter(++failures, policy.baseDelayMs, policy.maxDelayMs, ctx.random);
        // Overload: fewer requests in flight for everyone, but only a Retry-After pauses them all.
        gate.throttled(advised ?? 0);
      } else if (AMBIGUOUS_STATUSES.has(status)) {
        if (createsRuns) return { ok: false, ambiguous: true, error };
        budget.spend("status", describe(error));
        wait = fullJitter(++failures, policy.baseDelayMs, policy.maxDelayMs, ctx.random);
      } else {
        return { ok: false, ambiguous: false, error };
      }
    } else if (thrown instanceof NetworkError) {
      if (createsRuns && thrown.ambiguous) return { ok: false, ambiguous: true, error };
      budget.spend("network", describe(error));
      wait = fullJitter(++failures, policy.baseDelayMs, policy.maxDelayMs, ctx.random);
    } else {
      // Not the API's answer nor the network: a bug or a bad option. Do not retry it.
      return { ok: false, ambiguous: false, error };
    }
    if (failures >= policy.maxAttempts) return { ok: false, ambiguous: false, error };
    ctx.onRetry();
    await sleep(wait, ctx.signal);
  }
}

function describe(error: Error): string {
  if (isApiError(error)) return `${error.status} ${error.code ?? error.error}`;
  return error.message.split(": ").slice(-1)[0] ?? error.message;
}

/** `Retry-After` in milliseconds: seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
