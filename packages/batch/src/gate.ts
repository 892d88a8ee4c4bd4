/**
 * The runner's answer to rate limits, as one system: a gate per kind of request that every
 * caller passes through. A 429's `Retry-After` pauses the whole gate, not one request; the
 * number of requests in flight grows by one per window of successes and halves on a
 * throttle (AIMD); waits are full-jitter; and a retry budget shared by every gate stops the
 * job when failures are widespread instead of multiplying load on a struggling service.
 */

/**
 * How long to wait before retry `attempt` (1-based): full jitter, as in AWS's SDKs, a random
 * time between 0 and `min(cap, base × 2^(attempt − 1))`.
 *
 * @example
 * ```ts
 * fullJitter(3, 500, 30_000); // somewhere in [0, 2000) ms
 * ```
 */
export function fullJitter(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The job stopped because its shared retry budget is spent: the API is failing too often to
 * go on safely. Everything done so far is in the journal.
 *
 * @example
 * ```ts
 * try {
 *   await job.done();
 * } catch (error) {
 *   if (error instanceof RetryBudgetExhaustedError) console.log("resume: true, later");
 *   else throw error;
 * }
 * ```
 */
export class RetryBudgetExhaustedError extends Error {
  /** Always `"RetryBudgetExhaustedError"`. */
  override name = "RetryBudgetExhaustedError";
  constructor(
    /** How many requests had failed when the budget ran out. */
    readonly failures: number,
    /** A description of the last failure. */
    readonly lastFailure: string,
  ) {
    super(
      `Retry budget spent after ${failures} failed requests (last: ${lastFailure}). The API is failing too often to go on safely; nothing was lost: run again with resume (CLI: --resume) when it has recovered.`,
    );
  }
}

/**
 * Retry budget settings (the `retryBudget` option of {@link runBatch}): how many failed
 * requests the job tolerates before it stops with a {@link RetryBudgetExhaustedError}.
 *
 * @example
 * ```ts
 * const job = runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: ["invoices/0001.pdf"],
 *   retryBudget: { capacity: 500, statusCost: 1, networkCost: 2 },
 * });
 * ```
 */
export interface RetryBudgetOptions {
  /**
   * Tokens the budget holds (and starts with).
   * @default 200
   */
  capacity?: number;
  /**
   * Tokens a retry after a 5xx (or a 429 without `Retry-After`) costs.
   * @default 2
   */
  statusCost?: number;
  /**
   * Tokens a retry after a network error or timeout costs.
   * @default 4
   */
  networkCost?: number;
}

/**
 * A token bucket of retries: failures spend tokens, successes earn one back. With the defaults
 * a job goes on while fewer than about a third of its requests fail, and stops within a
 * hundred failures when most of them do. A 429 that says when to come back costs nothing:
 * the gate's pause handles it.
 */
export class RetryBudget {
  readonly capacity: number;
  private readonly statusCost: number;
  private readonly networkCost: number;
  private tokens: number;
  failures = 0;

  constructor(options: RetryBudgetOptions = {}) {
    this.capacity = options.capacity ?? 200;
    this.statusCost = options.statusCost ?? 2;
    this.networkCost = options.networkCost ?? 4;
    this.tokens = this.capacity;
  }

  get remaining(): number {
    return this.tokens;
  }

  /** Records a failure; throws when the budget cannot pay for its retry. */
  spend(kind: "status" | "network", description: string): void {
    this.failures++;
    const cost = kind === "network" ? this.networkCost : this.statusCost;
    if (this.tokens < cost) throw new RetryBudgetExhaustedError(this.failures, description);
    this.tokens -= cost;
  }

  earn(): void {
    this.tokens = Math.min(this.capacity, this.tokens + 1);
  }
}

/** Options of one gate. */
export interface GateOptions {
  /** Most requests in flight at once. */
  maxConcurrency: number;
  /**
   * Requests in flight at the start; grows by one per window of successes up to
   * `maxConcurrency`.
   * @default maxConcurrency
   */
  initialConcurrency?: number;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

/**
 * A concurrency limit that adapts (AIMD) and can be paused until a time. `acquire` resolves
 * when a slot is free and no pause is on; callers `release` when their request is answered
 * and report how it went with `success` or `throttled`.
 */
export class Gate {
  private limit: number;
  private readonly max: number;
  private active = 0;
  private pausedUntil = 0;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private readonly waiters: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Times the gate was paused by a throttle. */
  pauses = 0;

  constructor(options: GateOptions) {
    if (!(options.maxConcurrency >= 1))
      throw new RangeError(`concurrency must be 1 or more; got ${options.maxConcurrency}.`);
    this.max = Math.floor(options.maxConcurrency);
    this.limit = Math.min(this.max, options.initialConcurrency ?? this.max);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Requests allowed in flight now. */
  get concurrency(): number {
    return Math.max(1, Math.floor(this.limit));
  }

  get inFlight(): number {
    return this.active;
  }

  /** Milliseconds left in the current pause, 0 when open. */
  get pausedFor(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (this.waiters.length === 0 && this.canGo()) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener("abort", onAbort);
        this.active++;
        resolve();
      };
      const onAbort = () => {
        const at = this.waiters.indexOf(go);
        if (at >= 0) this.waiters.splice(at, 1);
        this.idleTimer();
        reject(signal?.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(go);
      this.pump();
    });
  }

  release(): void {
    this.active = Math.max(0, this.active - 1);
    this.pump();
  }

  /** Additive increase: one more slot after about `concurrency` successes. */
  success(): void {
    if (this.limit < this.max) this.limit = Math.min(this.max, this.limit + 1 / this.limit);
  }

  /**
   * A throttle (429, 503): halve the concurrency, at most once per second (or `retryAfterMs`)
   * so a burst of 429s from requests that were already in flight counts once, and, when the
   * server said how long, pause every caller until `retryAfterMs` has passed (plus a little
   * jitter so they do not all wake at the same instant).
   */
  throttled(retryAfterMs: number): void {
    const t = this.now();
    if (t - this.lastDecrease >= Math.max(retryAfterMs, 1000)) {
      this.limit = Math.max(1, this.limit / 2);
      this.lastDecrease = t;
    }
    if (retryAfterMs <= 0) return;
    // A little jitter (2%, at most 20 ms) so callers in several processes do not wake in step;
    // more would only leave the server's refilled tokens unused.
    const until = t + retryAfterMs + Math.floor(this.random() * Math.min(20, retryAfterMs * 0.02));
    if (until > this.pausedUntil) {
      this.pausedUntil = until;
      this.pauses++;
    }
    this.pump();
  }

  private canGo(): boolean {
    return this.active < this.concurrency && this.now() >= this.pausedUntil;
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.canGo()) this.waiters.shift()?.();
    const wait = this.pausedUntil - this.now();
    // The timer keeps the process alive while requests wait on the pause: when every task of
    // a job waits here, it is the only thing left to run, and an unref'd one let the process
    // exit with most inputs unsent. It goes as soon as nobody waits.
    if (this.waiters.length > 0 && wait > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
    }
    this.idleTimer();
  }

  /** Drops the pause timer once no request waits on it, so a stopped job can exit. */
  private idleTimer(): void {
    if (this.waiters.length === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
