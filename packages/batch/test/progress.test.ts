import { describe, expect, it } from "vitest";
import { createRateMeter, progressLine, summaryText } from "../src/progress.js";
import type { BatchStats } from "../src/stats.js";

const stats = (over: Partial<BatchStats> = {}): BatchStats => ({
  read: 500,
  uploaded: 0,
  submitted: 400,
  submitRequests: 8,
  finished: 250,
  failed: 0,
  duplicates: 0,
  inFlight: 150,
  retries: 0,
  reconciled: 0,
  reconciledApplied: 0,
  duplicateRuns: 0,
  duplicateRunsCancelled: 0,
  concurrency: 4,
  pausedMs: 0,
  startedAt: 0,
  ...over,
});

describe("progressLine", () => {
  it("shows done/total, percent, rate, ETA and elapsed", () => {
    expect(progressLine(stats({ expected: 1000 }), 25, 10_000, false)).toBe(
      "250/1000 | 25% | 25.0/s | ETA 0:30 | in flight 150 | elapsed 0:10",
    );
  });

  it("adds failures, retries and a rate-limit pause only when there are some", () => {
    const line = progressLine(stats({ failed: 3, retries: 12, pausedMs: 2000 }), 5, 65_000, false);
    expect(line).toBe(
      "250 done | 5.0/s | in flight 150 | failed 3 | retries 12 | rate-limited 0:02 | elapsed 1:05",
    );
  });

  it("draws a bar on a terminal when the total is known", () => {
    expect(progressLine(stats({ expected: 1000 }), 25, 10_000, true, 80)).toMatch(
      /^\[#+-+\] 250\/1000/,
    );
  });
});

describe("createRateMeter", () => {
  it("reports outcomes per second over the recent window", () => {
    const meter = createRateMeter(10_000);
    expect(meter(0, 0)).toBe(0);
    expect(meter(1000, 10)).toBe(10);
    meter(12_000, 30);
    // Samples older than the window are dropped: 10 more outcomes in the last second.
    expect(meter(13_000, 40)).toBe(10);
  });
});

describe("summaryText", () => {
  it("lists counts by status, throughput and the failures with their reasons", () => {
    const text = summaryText(
      {
        total: 3,
        byStatus: { PROCESSED: 2, ERROR: 1 },
        failures: [{ key: "k", input: "/a.pdf", status: "ERROR", reason: "Cannot read /a.pdf" }],
        failed: 1,
        submitted: 2,
        submitRequests: 1,
        retries: 4,
        reconciled: 1,
        duplicateRuns: { found: 0, cancelled: 0 },
        resumed: 0,
        durationMs: 2000,
        submittedPerSecond: 1,
        finishedPerSecond: 1.5,
      },
      "out.jsonl",
    );
    expect(text).toContain("3 inputs: ERROR 1, PROCESSED 2");
    expect(text).toContain(
      "2 submitted in 1 requests, 4 retries, 1 ambiguous submissions checked; 0:02 (1.5 outcomes/s)",
    );
    expect(text).toContain("  ERROR /a.pdf: Cannot read /a.pdf");
    expect(text).toContain("results: out.jsonl");
    expect(text).not.toContain("duplicate run");
  });

  it("reports duplicate runs, cancelled or not", () => {
    const text = summaryText({
      total: 3,
      byStatus: { PROCESSED: 3 },
      failures: [],
      failed: 0,
      submitted: 3,
      submitRequests: 2,
      retries: 1,
      reconciled: 1,
      duplicateRuns: { found: 3, cancelled: 2 },
      resumed: 0,
      durationMs: 2000,
      submittedPerSecond: 1,
      finishedPerSecond: 1.5,
    });
    expect(text).toContain(
      "3 duplicate run(s) found (submissions the server applied after they were sent again): 2 cancelled, 1 could not be (already finished)",
    );
  });
});
