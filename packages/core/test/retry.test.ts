import { describe, expect, test } from "vitest";
import { backoffDelay, createRetryBudget, resolveRetry, retryAfterMs } from "../src/retry.js";

describe("retryAfterMs", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  test.each([
    ["2", 2000],
    ["0", 0],
    [" 7 ", 7000],
    ["Thu, 01 Jan 2026 00:00:05 GMT", 5000],
    ["Wed, 31 Dec 2025 23:59:00 GMT", 0],
    ["soon", undefined],
    ["-1", undefined],
    ["1.5", undefined],
  ])("%j → %s ms", (header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected);
  });

  test("no header → undefined", () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});

describe("backoffDelay", () => {
  const policy = resolveRetry({});
  test.each([
    [0, 1, 500],
    [1, 1, 1000],
    [2, 1, 2000],
    [4, 1, 8000],
    [10, 1, 8000],
    [3, 0.5, 2000],
    [3, 0, 0],
  ])(
    "retry %i with random %f waits %i ms (full jitter, capped at 8 s)",
    (retry, random, expected) => {
      expect(backoffDelay(retry, policy, () => random)).toBe(expected);
    },
  );
});

describe("resolveRetry", () => {
  test("documents its defaults", () => {
    expect(resolveRetry(undefined)).toEqual({
      maxRetries: 2,
      baseDelayMs: 500,
      maxDelayMs: 8000,
      maxRetryAfterMs: 60_000,
      budget: 100,
      retryCost: 5,
    });
    expect(resolveRetry(false).maxRetries).toBe(0);
  });
});

describe("createRetryBudget", () => {
  test("spends while it can and earns one back per success, up to its capacity", () => {
    const budget = createRetryBudget(10);
    expect(budget.spend(5)).toBe(true);
    expect(budget.spend(5)).toBe(true);
    expect(budget.spend(5)).toBe(false);
    budget.earn();
    expect(budget.tokens).toBe(1);
    for (let i = 0; i < 20; i++) budget.earn();
    expect(budget.tokens).toBe(10);
  });
});
