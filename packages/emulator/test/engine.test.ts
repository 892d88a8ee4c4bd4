import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { JobKind } from "../src/context.js";
import { Engine, type JobHandler, sleep } from "../src/engine.js";
import { Store } from "../src/store.js";

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(reason: unknown): void;
}

/** A promise to settle from outside, to drive a handler step by step. */
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask and I/O callback run: the engine pumps on microtasks. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Handlers whose jobs each wait for the test to finish them. Records the order jobs start
 * in, how many run at once, and the abort reason a job saw.
 */
function scriptedJobs() {
  const started: string[] = [];
  const finish = new Map<string, Deferred>();
  const startedSignal = new Map<string, Deferred>();
  const aborted = new Map<string, unknown>();
  let running = 0;
  let maxRunning = 0;
  const gate = (id: string) => {
    let d = finish.get(id);
    if (!d) {
      d = deferred();
      finish.set(id, d);
    }
    return d;
  };
  const onStart = (id: string) => {
    let d = startedSignal.get(id);
    if (!d) {
      d = deferred();
      startedSignal.set(id, d);
    }
    return d;
  };
  const handler: JobHandler = async (id, signal) => {
    started.push(id);
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    onStart(id).resolve();
    try {
      await new Promise<void>((resolve, reject) => {
        gate(id).promise.then(resolve, reject);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    } catch (error) {
      aborted.set(id, error);
      throw error;
    } finally {
      running -= 1;
      // A later run of the same id (after a restart) waits on a fresh gate.
      finish.delete(id);
      startedSignal.delete(id);
    }
  };
  const handlers = Object.fromEntries(
    (
      ["workflow_run", "processor_run", "parser_run", "edit_run", "batch_processor_run"] as const
    ).map((kind) => [kind, handler]),
  ) as Record<JobKind, JobHandler>;
  return {
    handlers,
    started,
    aborted,
    get running() {
      return running;
    },
    get maxRunning() {
      return maxRunning;
    },
    /** Resolves once the job `id` has started. */
    hasStarted: (id: string) => onStart(id).promise,
    /** Lets the job `id` finish successfully. */
    finish: (id: string) => gate(id).resolve(),
    /** Makes the job `id` throw. */
    crash: (id: string, error: Error) => gate(id).reject(error),
  };
}

let store: Store;
beforeEach(() => {
  store = new Store(":memory:");
});
afterEach(() => {
  store.close();
});

describe("Engine", () => {
  test("runs queued jobs lowest priority number first, then oldest first", async () => {
    const jobs = scriptedJobs();
    const engine = new Engine(store, 1, jobs.handlers);
    engine.enqueue("workflow_run", "a", 50);
    engine.enqueue("processor_run", "b", 10);
    engine.enqueue("workflow_run", "c", 50);
    engine.enqueue("parser_run", "d", 10);
    engine.enqueue("workflow_run", "e", 90);
    engine.enqueue("workflow_run", "f", 1);
    engine.start();
    for (const id of ["f", "b", "d", "a", "c", "e"]) {
      await jobs.hasStarted(id);
      jobs.finish(id);
    }
    await flush();
    expect(jobs.started).toEqual(["f", "b", "d", "a", "c", "e"]);
    expect(engine.idle()).toBe(true);
    expect(store.queuedJobs()).toBe(0);
    await engine.stop();
  });

  test("a job enqueued while others wait goes ahead of them when its priority number is lower", async () => {
    const jobs = scriptedJobs();
    const engine = new Engine(store, 1, jobs.handlers);
    engine.start();
    engine.enqueue("workflow_run", "first", 50);
    await jobs.hasStarted("first");
    engine.enqueue("workflow_run", "late-low", 50);
    engine.enqueue("workflow_run", "urgent", 5);
    jobs.finish("first");
    await jobs.hasStarted("urgent");
    jobs.finish("urgent");
    await jobs.hasStarted("late-low");
    jobs.finish("late-low");
    await flush();
    expect(jobs.started).toEqual(["first", "urgent", "late-low"]);
    await engine.stop();
  });

  test("runs at most `concurrency` jobs at once and starts the next as soon as one finishes", async () => {
    const jobs = scriptedJobs();
    const engine = new Engine(store, 2, jobs.handlers);
    engine.start();
    for (const id of ["j1", "j2", "j3", "j4", "j5"]) engine.enqueue("workflow_run", id, 50);
    await jobs.hasStarted("j1");
    await jobs.hasStarted("j2");
    await flush();
    expect(jobs.started).toEqual(["j1", "j2"]);
    expect(jobs.running).toBe(2);

    jobs.finish("j1");
    await jobs.hasStarted("j3");
    await flush();
    expect(jobs.started).toEqual(["j1", "j2", "j3"]);
    expect(jobs.running).toBe(2);

    for (const id of ["j2", "j3", "j4", "j5"]) {
      await jobs.hasStarted(id);
      jobs.finish(id);
    }
    await flush();
    expect(jobs.started).toEqual(["j1", "j2", "j3", "j4", "j5"]);
    expect(jobs.maxRunning).toBe(2);
    expect(engine.idle()).toBe(true);
    await engine.stop();
  });

  test("idle() is false while a job is queued or running and true once all are done", async () => {
    const jobs = scriptedJobs();
    const engine = new Engine(store, 1, jobs.handlers);
    expect(engine.idle()).toBe(true);
    engine.enqueue("workflow_run", "a", 50);
    expect(engine.idle()).toBe(false);
    engine.start();
    await jobs.hasStarted("a");
    expect(engine.idle()).toBe(false);
    jobs.finish("a");
    await flush();
    expect(engine.idle()).toBe(true);
    await engine.stop();
  });

  test("stop() interrupts running jobs with reason 'shutdown' and leaves them and the queue for the next start()", async () => {
    const jobs = scriptedJobs();
    const first = new Engine(store, 1, jobs.handlers);
    first.start();
    first.enqueue("workflow_run", "interrupted", 50);
    first.enqueue("workflow_run", "waiting", 50);
    await jobs.hasStarted("interrupted");
    await first.stop();

    expect(jobs.aborted.get("interrupted")).toBe("shutdown");
    expect(jobs.started).toEqual(["interrupted"]);
    expect(store.queuedJobs()).toBe(2);
    expect(first.idle()).toBe(false);

    // A new engine on the same store (a restart) resumes both, the interrupted one first.
    const lines: string[] = [];
    const second = new Engine(store, 1, jobs.handlers, (line) => lines.push(line));
    second.start();
    expect(lines.join("\n")).toMatch(/resumed 1 run\(s\) interrupted/);
    await jobs.hasStarted("interrupted");
    jobs.finish("interrupted");
    await jobs.hasStarted("waiting");
    jobs.finish("waiting");
    await flush();
    expect(jobs.started).toEqual(["interrupted", "interrupted", "waiting"]);
    expect(store.queuedJobs()).toBe(0);
    expect(second.idle()).toBe(true);
    await second.stop();
  });

  test("a stopped engine takes no new work until it is started again", async () => {
    const jobs = scriptedJobs();
    const engine = new Engine(store, 1, jobs.handlers);
    engine.start();
    await engine.stop();
    engine.enqueue("workflow_run", "later", 50);
    await flush();
    expect(jobs.started).toEqual([]);
    engine.start();
    await jobs.hasStarted("later");
    jobs.finish("later");
    await flush();
    expect(jobs.started).toEqual(["later"]);
    expect(store.queuedJobs()).toBe(0);
    await engine.stop();
  });

  test("abort() with 'cancel' ends the job for good: it is not run again after a restart", async () => {
    const jobs = scriptedJobs();
    const engine = new Engine(store, 1, jobs.handlers);
    engine.start();
    engine.enqueue("workflow_run", "cancelled", 50);
    await jobs.hasStarted("cancelled");
    engine.abort("cancelled", "cancel");
    await engine.settled("cancelled", 60_000);
    expect(jobs.aborted.get("cancelled")).toBe("cancel");
    expect(store.queuedJobs()).toBe(0);
    await engine.stop();
    const again = new Engine(store, 1, jobs.handlers);
    again.start();
    await flush();
    expect(jobs.started).toEqual(["cancelled"]);
    await again.stop();
  });

  test("a handler that throws is logged, its job is finished, and the next job runs", async () => {
    const jobs = scriptedJobs();
    const lines: string[] = [];
    const engine = new Engine(store, 1, jobs.handlers, (line) => lines.push(line));
    engine.start();
    engine.enqueue("processor_run", "boom", 50);
    engine.enqueue("processor_run", "next", 50);
    await jobs.hasStarted("boom");
    jobs.crash("boom", new Error("kaput"));
    await jobs.hasStarted("next");
    jobs.finish("next");
    await flush();
    expect(lines.join("\n")).toMatch(/processor_run boom crashed: Error: kaput/);
    expect(jobs.started).toEqual(["boom", "next"]);
    expect(store.queuedJobs()).toBe(0);
    await engine.stop();
  });

  describe("settled()", () => {
    test("resolves at once for an id with no job", async () => {
      const engine = new Engine(store, 1, scriptedJobs().handlers);
      await expect(engine.settled("nothing", 60_000)).resolves.toBeUndefined();
    });

    test("resolves when the job finishes, not before", async () => {
      const jobs = scriptedJobs();
      const engine = new Engine(store, 1, jobs.handlers);
      engine.start();
      engine.enqueue("processor_run", "p", 50);
      let settled = false;
      const waiting = engine.settled("p", 60_000).then(() => {
        settled = true;
      });
      await jobs.hasStarted("p");
      await flush();
      expect(settled).toBe(false);
      jobs.finish("p");
      await waiting;
      expect(settled).toBe(true);
      expect(engine.idle()).toBe(true);
      await engine.stop();
    });

    test("also waits for a job that is still queued behind others", async () => {
      const jobs = scriptedJobs();
      const engine = new Engine(store, 1, jobs.handlers);
      engine.start();
      engine.enqueue("processor_run", "ahead", 10);
      engine.enqueue("processor_run", "behind", 50);
      await jobs.hasStarted("ahead");
      let settled = false;
      const waiting = engine.settled("behind", 60_000).then(() => {
        settled = true;
      });
      jobs.finish("ahead");
      await jobs.hasStarted("behind");
      await flush();
      expect(settled).toBe(false);
      jobs.finish("behind");
      await waiting;
      expect(settled).toBe(true);
      await engine.stop();
    });

    test("gives up after its timeout while the job keeps running", async () => {
      const jobs = scriptedJobs();
      const engine = new Engine(store, 1, jobs.handlers);
      engine.start();
      engine.enqueue("processor_run", "slow", 50);
      await jobs.hasStarted("slow");
      await engine.settled("slow", 0);
      expect(engine.idle()).toBe(false);
      expect(jobs.running).toBe(1);
      jobs.finish("slow");
      await engine.settled("slow", 60_000);
      expect(engine.idle()).toBe(true);
      await engine.stop();
    });
  });
});

describe("sleep", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test("rejects at once with the abort reason when the signal aborts, and clears its timer", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const sleeping = sleep(3_600_000, controller.signal);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort("cancel");
    await expect(sleeping).rejects.toBe("cancel");
    expect(vi.getTimerCount()).toBe(0);
  });

  test("rejects at once when the signal is already aborted, without starting a timer", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    controller.abort("shutdown");
    const sleeping = sleep(3_600_000, controller.signal);
    expect(vi.getTimerCount()).toBe(0);
    await expect(sleeping).rejects.toBe("shutdown");
  });

  test("resolves after exactly the given time when not aborted", async () => {
    vi.useFakeTimers();
    let done = false;
    const sleeping = sleep(1000, new AbortController().signal).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(done).toBe(true);
  });

  test.each([0, -5])("resolves immediately for %i ms", async (ms) => {
    vi.useFakeTimers();
    await expect(sleep(ms, new AbortController().signal)).resolves.toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});
