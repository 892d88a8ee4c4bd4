import type { JobKind } from "./context.js";
import type { Store } from "./store.js";

export type JobHandler = (id: string, signal: AbortSignal) => Promise<void>;

/** Why a run's worker was told to stop. */
export type StopReason = "cancel" | "delete" | "shutdown";

/**
 * Executes queued runs with a fixed number of workers, lowest priority number first.
 * Jobs live in SQLite: a job still marked running after a restart is queued again, so
 * every run created before a restart finishes after it.
 */
export class Engine {
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private running = false;
  private readonly turns: Array<() => void> = [];
  private turnScheduled = false;

  constructor(
    private readonly store: Store,
    private readonly concurrency: number,
    private readonly handlers: Record<JobKind, JobHandler>,
    private readonly log: (line: string) => void = () => {},
  ) {}

  start() {
    const requeued = this.store.requeueRunningJobs();
    if (requeued) this.log(`engine: resumed ${requeued} run(s) interrupted by the last stop`);
    this.running = true;
    this.pump();
  }

  enqueue(kind: JobKind, id: string, priority: number) {
    this.store.enqueue(id, kind, priority);
    queueMicrotask(() => this.pump());
  }

  abort(id: string, reason: StopReason = "cancel") {
    this.active.get(id)?.controller.abort(reason);
  }

  /** Resolves once no job is queued or running for `id`, or after `timeoutMs`. */
  settled(id: string, timeoutMs: number): Promise<void> {
    const pending = this.store.sql("SELECT 1 FROM jobs WHERE resource_id = ?").get(id);
    if (!pending && !this.active.has(id)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.get(id)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      let set = this.waiters.get(id);
      if (!set) {
        set = new Set();
        this.waiters.set(id, set);
      }
      set.add(done);
    });
  }

  /**
   * Waits for the caller's next turn to do a step of work. One step runs per turn of the
   * event loop, after pending I/O, so runs never hold up the API's answers however many
   * are executing; under load they go slower instead.
   */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.turns.push(resolve);
      if (!this.turnScheduled) {
        this.turnScheduled = true;
        setImmediate(this.nextTurn);
      }
    });
  }

  private readonly nextTurn = () => {
    this.turns.shift()?.();
    if (this.turns.length) setImmediate(this.nextTurn);
    else this.turnScheduled = false;
  };

  /** Whether nothing is queued or running. */
  idle() {
    return this.active.size === 0 && this.store.queuedJobs() === 0;
  }

  /** Stops taking work and interrupts what is running; interrupted jobs resume at the next start. */
  async stop() {
    this.running = false;
    const inFlight = [...this.active.values()];
    for (const { controller } of inFlight) controller.abort("shutdown" satisfies StopReason);
    await Promise.allSettled(inFlight.map((job) => job.done));
  }

  private pump() {
    while (this.running && this.active.size < this.concurrency) {
      const job = this.store.claimJob();
      if (!job) return;
      this.run(job.kind as JobKind, job.resourceId);
    }
  }

  private run(kind: JobKind, id: string) {
    const controller = new AbortController();
    const done = (async () => {
      try {
        await this.handlers[kind](id, controller.signal);
      } catch (error) {
        this.log(`engine: ${kind} ${id} crashed: ${(error as Error).stack ?? error}`);
      } finally {
        // A job interrupted by shutdown stays in the table and is picked up again at start.
        if (controller.signal.reason !== "shutdown") this.store.finishJob(id);
        this.active.delete(id);
        for (const wake of [...(this.waiters.get(id) ?? [])]) wake();
        this.waiters.delete(id);
        // The next job starts on a later turn of the event loop, after pending I/O.
        if (this.running) setImmediate(() => this.pump());
      }
    })();
    this.active.set(id, { controller, done });
  }
}

/** Waits `ms`, or rejects at once if `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Throws the abort reason if the run was told to stop. */
export function checkpoint(signal: AbortSignal) {
  if (signal.aborted) throw signal.reason;
}

export function isStopReason(value: unknown): value is StopReason {
  return value === "cancel" || value === "delete" || value === "shutdown";
}
