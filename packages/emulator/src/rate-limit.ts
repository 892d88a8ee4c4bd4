import type { OperationId } from "./router.js";

/** Request categories, as the service limits them: reads, writes, and run creation. */
export type RateCategory = "get" | "write" | "run";

/**
 * Requests per second allowed in each category; a missing category is unlimited. Past it,
 * the emulator answers 429 with a `Retry-After`, as the service does.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({ rateLimit: { get: 50, write: 20, run: 5 } });
 * ```
 */
export type RateLimitOptions = Partial<Record<RateCategory, number>>;

const RUN_OPERATIONS = new Set<OperationId>([
  "runProcessor",
  "runWorkflow",
  "batchRunWorkflow",
  "parseFile",
  "parseFileAsync",
  "editFile",
  "editFileAsync",
]);

export function categoryOf(operationId: OperationId, method: string): RateCategory {
  if (RUN_OPERATIONS.has(operationId)) return "run";
  return method === "GET" ? "get" : "write";
}

/**
 * One token bucket per category: each holds up to one second of requests (at least one
 * request, so rates below 1/s still let a request through every 1/rate seconds) and refills
 * continuously. `take` answers 0 when the request may go, else the seconds to wait.
 */
export function createRateLimiter(options: RateLimitOptions | false, now: () => number = Date.now) {
  let limits: RateLimitOptions = options || {};
  const buckets = new Map<RateCategory, { tokens: number; at: number }>();
  return {
    get limits() {
      return limits;
    },
    set(next: RateLimitOptions | false) {
      limits = next || {};
      buckets.clear();
    },
    take(category: RateCategory): number {
      const rate = limits[category];
      if (!rate || rate <= 0) return 0;
      const t = now();
      const capacity = Math.max(1, rate);
      const bucket = buckets.get(category) ?? { tokens: capacity, at: t };
      bucket.tokens = Math.min(capacity, bucket.tokens + ((t - bucket.at) / 1000) * rate);
      bucket.at = t;
      buckets.set(category, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
    },
  };
}

/**
 * Parses the CLI form `get=50,write=20,run=5` (requests per second by category). Throws an
 * `Error` for an entry it cannot read.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({ rateLimit: parseRateLimit("get=50,write=20,run=5") });
 * ```
 */
export function parseRateLimit(text: string): RateLimitOptions {
  const out: RateLimitOptions = {};
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^(get|write|run)=(\d+(?:\.\d+)?)$/.exec(part);
    const name = match?.[1];
    const rate = Number(match?.[2]);
    if (!name || !(rate > 0)) {
      throw new Error(`--rate-limit: expected entries like get=50,write=20,run=5; got "${part}"`);
    }
    out[name as RateCategory] = rate;
  }
  return out;
}
