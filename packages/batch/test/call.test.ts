import { ApiError, NetworkError } from "@extendkit/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type CallContext, call, retryAfterMs, ServerClock } from "../src/call.js";
import { Gate, RetryBudget, RetryBudgetExhaustedError } from "../src/gate.js";

const info = { method: "POST", url: "http://x/workflow_runs", attempts: 1 };

function answer(status: number, headers: Record<string, string> = {}) {
  const response = new Response(null, { status, headers });
  if (status < 400) return { data: { ok: status }, response };
  const body = { success: false, error: "failed", code: "X", message: `status ${status}` };
  return { error: new ApiError(status, body, info), response };
}

function context(budget = new RetryBudget()): CallContext {
  return {
    gate: new Gate({ maxConcurrency: 4, random: () => 0 }),
    budget,
    policy: { maxAttempts: 4, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 60_000 },
    signal: new AbortController().signal,
    random: () => 0,
    onRetry: () => {},
    clock: new ServerClock(),
  };
}

function sequence(...steps: Array<() => unknown>) {
  let i = 0;
  const send = vi.fn(async () => {
    const step = steps[Math.min(i++, steps.length - 1)] as () => unknown;
    return step() as ReturnType<typeof answer>;
  });
  return send;
}

describe("call", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits out a 429's Retry-After on the gate, then succeeds", async () => {
    const ctx = context();
    const send = sequence(
      () => answer(429, { "retry-after": "2" }),
      () => answer(200),
    );
    const done = call(ctx, send, true);
    await vi.advanceTimersByTimeAsync(1999);
    expect(send).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(100);
    await expect(done).resolves.toEqual({ ok: true, data: { ok: 200 } });
    expect(send).toHaveBeenCalledTimes(2);
  });

  it("hands a 500 on a run-creating request back as ambiguous, without sending it again", async () => {
    const send = sequence(() => answer(500));
    const result = await call(context(), send, true);
    expect(result).toMatchObject({ ok: false, ambiguous: true });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it("retries a 500 on a read", async () => {
    const send = sequence(
      () => answer(500),
      () => answer(502),
      () => answer(200),
    );
    const result = await call(context(), send, false);
    expect(result.ok).toBe(true);
    expect(send).toHaveBeenCalledTimes(3);
  });

  it("sends a run-creating request again after a 503: the server did nothing", async () => {
    const send = sequence(
      () => answer(503),
      () => answer(200),
    );
    const result = await call(context(), send, true);
    expect(result.ok).toBe(true);
  });

  it("treats a reset after sending as ambiguous, and a refused connection as safe to resend", async () => {
    const reset = sequence(() => {
      throw new NetworkError(info, true, new Error("socket hang up"));
    });
    expect(await call(context(), reset, true)).toMatchObject({ ok: false, ambiguous: true });
    const refused = sequence(
      () => {
        throw new NetworkError(info, false, new Error("ECONNREFUSED"));
      },
      () => answer(200),
    );
    expect((await call(context(), refused, true)).ok).toBe(true);
  });

  it("returns a 400 at once, as not applied", async () => {
    const send = sequence(() => answer(400));
    const result = await call(context(), send, true);
    expect(result).toMatchObject({ ok: false, ambiguous: false });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it("gives up after maxAttempts on a read", async () => {
    const send = sequence(() => answer(503));
    const result = await call(context(), send, false);
    expect(result).toMatchObject({ ok: false, ambiguous: false });
    expect(send).toHaveBeenCalledTimes(4);
  });

  it("refuses a Retry-After beyond maxRetryAfterMs with the 429 itself", async () => {
    const send = sequence(() => answer(429, { "retry-after": "3600" }));
    const result = await call(context(), send, true);
    expect(result.ok).toBe(false);
    expect(!result.ok && (result.error as ApiError).status).toBe(429);
  });

  it("throws when the shared retry budget is spent", async () => {
    const send = sequence(() => answer(503));
    await expect(call(context(new RetryBudget({ capacity: 3 })), send, false)).rejects.toThrow(
      RetryBudgetExhaustedError,
    );
  });
});

describe("retryAfterMs", () => {
  it.each([
    ["2", 2000],
    ["0", 0],
    ["1.5", 1500],
    ["Thu, 01 Jan 1970 00:00:10 GMT", 10_000],
    ["", undefined],
    ["soon", undefined],
  ])("reads %j as %j ms", (header, ms) => {
    expect(retryAfterMs(header, 0)).toBe(ms);
  });
});

describe("ServerClock", () => {
  it("learns the server's offset from a Date header", () => {
    const clock = new ServerClock();
    const ahead = new Date(Date.now() + 60_000).toUTCString();
    clock.observe(new Response(null, { headers: { date: ahead } }));
    expect(clock.now() - Date.now()).toBeGreaterThan(58_000);
    expect(clock.now() - Date.now()).toBeLessThan(62_000);
  });

  it("narrows the offset with each answer, below the header's one-second resolution", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const clock = new ServerClock();
      // The server runs 300 ms ahead; each answer is stamped in whole seconds.
      const answerAt = (local: number) => {
        vi.setSystemTime(local);
        const server = local + 300;
        const date = new Date(server - (server % 1000)).toUTCString();
        return new Response(null, { headers: { date } });
      };
      for (const local of [1_000_100, 1_000_450, 1_000_699, 1_000_701, 1_001_200]) {
        const response = answerAt(local);
        clock.observe(response, local);
      }
      expect(Math.abs(clock.now() - (Date.now() + 300))).toBeLessThanOrEqual(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("starts over when the bounds no longer meet (a clock jumped)", () => {
    const clock = new ServerClock();
    clock.observe(new Response(null, { headers: { date: new Date().toUTCString() } }));
    const jumped = new Date(Date.now() + 3_600_000).toUTCString();
    clock.observe(new Response(null, { headers: { date: jumped } }));
    expect(clock.now() - Date.now()).toBeGreaterThan(3_598_000);
  });
});
