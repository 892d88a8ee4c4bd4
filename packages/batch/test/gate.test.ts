import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fullJitter, Gate, RetryBudget, RetryBudgetExhaustedError } from "../src/gate.js";

describe("fullJitter", () => {
  it.each([
    // attempt, base, cap, random, expected
    [1, 500, 30_000, 0.5, 250],
    [2, 500, 30_000, 0.5, 500],
    [3, 500, 30_000, 0.999, 1998],
    [10, 500, 30_000, 0.5, 15_000],
    [1, 500, 30_000, 0, 0],
  ])("attempt %i with base %i and cap %i at random %f waits %i ms", (attempt, base, cap, r, ms) => {
    expect(fullJitter(attempt, base, cap, () => r)).toBe(ms);
  });
});

describe("RetryBudget", () => {
  it("pays 2 per status failure and 4 per network failure, and earns 1 per success", () => {
    const budget = new RetryBudget({ capacity: 10 });
    budget.spend("status", "500 INTERNAL_ERROR");
    budget.spend("network", "socket hang up");
    expect(budget.remaining).toBe(4);
    budget.earn();
    expect(budget.remaining).toBe(5);
    for (let i = 0; i < 20; i++) budget.earn();
    expect(budget.remaining).toBe(10);
  });

  it("throws a typed error that says what failed and how to go on once spent", () => {
    const budget = new RetryBudget({ capacity: 3 });
    budget.spend("status", "503 SERVICE_UNAVAILABLE");
    let caught: unknown;
    try {
      budget.spend("status", "503 SERVICE_UNAVAILABLE");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RetryBudgetExhaustedError);
    expect((caught as RetryBudgetExhaustedError).failures).toBe(2);
    expect((caught as Error).message).toMatch(/after 2 failed requests \(last: 503 .*resume/);
  });

  it("keeps going while a fifth of requests fail, and stops when most do", () => {
    const healthy = new RetryBudget();
    for (let i = 0; i < 10_000; i++) {
      if (i % 5 === 0) healthy.spend(i % 10 === 0 ? "network" : "status", "x");
      else healthy.earn();
    }
    expect(healthy.remaining).toBeGreaterThan(0);
    const outage = new RetryBudget();
    expect(() => {
      for (let i = 0; i < 10_000; i++) {
        if (i % 4 !== 0) outage.spend("status", "x");
        else outage.earn();
      }
    }).toThrow(RetryBudgetExhaustedError);
    expect(outage.failures).toBeLessThan(200);
  });
});

describe("Gate", () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const gate = (max: number, initial?: number) =>
    new Gate({
      maxConcurrency: max,
      ...(initial ? { initialConcurrency: initial } : {}),
      now: () => now,
      random: () => 0,
    });

  it("lets at most `concurrency` callers in, and the next one in on release", async () => {
    const g = gate(2);
    await g.acquire();
    await g.acquire();
    let third = false;
    const waiting = g.acquire().then(() => {
      third = true;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    g.release();
    await waiting;
    expect(third).toBe(true);
    expect(g.inFlight).toBe(2);
  });

  it("halves on a throttle once per window, then grows back one slot per window of successes", () => {
    const g = gate(16);
    g.throttled(0);
    expect(g.concurrency).toBe(8);
    g.throttled(0);
    expect(g.concurrency).toBe(8);
    now = 1000;
    g.throttled(0);
    expect(g.concurrency).toBe(4);
    for (let i = 0; i < 4; i++) g.success();
    expect(g.concurrency).toBe(4);
    for (let i = 0; i < 4; i++) g.success();
    expect(g.concurrency).toBeGreaterThanOrEqual(5);
    for (let i = 0; i < 500; i++) g.success();
    expect(g.concurrency).toBe(16);
  });

  it("pauses every caller for Retry-After, then lets them all go", async () => {
    const g = gate(4);
    g.throttled(1000);
    expect(g.pausedFor).toBe(1000);
    const order: string[] = [];
    const a = g.acquire().then(() => order.push("a"));
    const b = g.acquire().then(() => order.push("b"));
    await vi.advanceTimersByTimeAsync(999);
    expect(order).toEqual([]);
    now = 1000;
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([a, b]);
    expect(order).toEqual(["a", "b"]);
  });

  it("does not pause when the server gave no time", () => {
    const g = gate(4);
    g.throttled(0);
    expect(g.pausedFor).toBe(0);
  });

  it("rejects a waiting caller when its signal aborts", async () => {
    const g = gate(1);
    await g.acquire();
    const controller = new AbortController();
    const waiting = g.acquire(controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    g.release();
    expect(g.inFlight).toBe(0);
  });

  it("holds the process open while a caller waits out a pause, and lets go once none waits", async () => {
    vi.useRealTimers();
    const timers: NodeJS.Timeout[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, "setTimeout").mockImplementation(((
      callback: () => void,
      ms: number,
    ) => {
      const timer = realSetTimeout(callback, ms);
      timers.push(timer);
      return timer;
    }) as typeof setTimeout);
    const cleared: unknown[] = [];
    const realClearTimeout = globalThis.clearTimeout;
    const clearSpy = vi.spyOn(globalThis, "clearTimeout").mockImplementation(((
      timer: NodeJS.Timeout,
    ) => {
      cleared.push(timer);
      realClearTimeout(timer);
    }) as typeof clearTimeout);
    try {
      const g = new Gate({ maxConcurrency: 2 });
      g.throttled(60_000);
      const controller = new AbortController();
      const waiting = g.acquire(controller.signal);
      // The pause timer is the only thing left when every task waits here: if it did not
      // hold the event loop open, the process would exit with the job unfinished.
      expect(timers).toHaveLength(1);
      expect(timers[0]?.hasRef()).toBe(true);
      controller.abort(new Error("stop"));
      await expect(waiting).rejects.toThrow("stop");
      // Nobody waits: the timer is cleared, so a stopped job does not wait a minute to exit.
      expect(cleared).toContain(timers[0]);
    } finally {
      spy.mockRestore();
      clearSpy.mockRestore();
    }
  });

  it("refuses a concurrency below 1", () => {
    expect(() => new Gate({ maxConcurrency: 0 })).toThrow(RangeError);
  });
});
