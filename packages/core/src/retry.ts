/**
 * How the client retries. Every field is optional; the defaults are documented here. Pass
 * it as the `retry` option of {@link createClient}, or `retry: false` for no retries.
 *
 * @example
 * ```ts
 * const extend = createClient({
 *   token: process.env.EXTEND_API_KEY!,
 *   retry: { maxRetries: 5, baseDelayMs: 250, maxRetryAfterMs: 120_000 },
 * });
 * ```
 */
export interface RetryOptions {
  /**
   * Retries after the first attempt (so at most `maxRetries + 1` attempts). `0` turns
   * retries off.
   * @default 2
   */
  maxRetries?: number;
  /**
   * Base of the exponential backoff: retry n waits a random time between 0 and
   * `min(maxDelayMs, baseDelayMs × 2^n)` ("full jitter", which spreads many clients out best).
   * @default 500
   */
  baseDelayMs?: number;
  /**
   * Upper bound of one backoff wait.
   * @default 8000
   */
  maxDelayMs?: number;
  /**
   * The longest `Retry-After` the client will sleep. A longer one is not retried early:
   * the call ends with a `RateLimitError` whose `retryAt` says when to come back.
   * @default 60000
   */
  maxRetryAfterMs?: number;
  /**
   * A retry budget shared by every request of the client, so an outage does not multiply
   * the load: each retry spends `retryCost` tokens (twice that after a timeout or a network
   * error), each success earns one back, up to `budget`. With too few tokens left, a
   * failure is returned at once.
   * @default 100
   */
  budget?: number;
  /**
   * Tokens of `budget` one retry spends (twice as many after a timeout or a network error).
   * @default 5
   */
  retryCost?: number;
}

export type ResolvedRetry = Required<RetryOptions>;

export function resolveRetry(options: RetryOptions | false | undefined): ResolvedRetry {
  const o = options === false ? { maxRetries: 0 } : (options ?? {});
  return {
    maxRetries: o.maxRetries ?? 2,
    baseDelayMs: o.baseDelayMs ?? 500,
    maxDelayMs: o.maxDelayMs ?? 8000,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 60_000,
    budget: o.budget ?? 100,
    retryCost: o.retryCost ?? 5,
  };
}

/** Full-jitter backoff for retry number `retry` (0 for the first retry). */
export function backoffDelay(retry: number, policy: ResolvedRetry, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/**
 * The wait a `Retry-After` header asks for, in milliseconds: whole seconds, or an HTTP
 * date. Undefined when absent or unreadable; never negative.
 */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Anything else must be an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT"), not a stray number.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** A token bucket of retries, shared by every request of one client. */
export function createRetryBudget(capacity: number) {
  let tokens = capacity;
  return {
    get tokens() {
      return tokens;
    },
    /** Spends `cost` tokens if there are that many; answers whether it could. */
    spend(cost: number) {
      if (tokens < cost) return false;
      tokens -= cost;
      return true;
    },
    /** A request succeeded: one token back. */
    earn() {
      tokens = Math.min(capacity, tokens + 1);
    },
  };
}

export type RetryBudget = ReturnType<typeof createRetryBudget>;
