import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BatchOutcome, runBatch } from "../src/index.js";
import { scratch, seeded, serverRuns, setFaults } from "./helpers.js";

// The server applies some submissions later than the runner waits for them: the client
// times out, finds nothing, sends again, and then the first attempt lands too. The API has no
// idempotency key, so those inputs get two runs; the runner must find every second run,
// cancel it while it can, report it, and still give each input exactly one outcome.
const N = 500;

let emulator: Emulator;
beforeEach(async () => {
  // Runs take a while (three steps, 40 ms a page), so a second run found quickly can still
  // be cancelled; one found late has finished and is reported as not cancelled.
  emulator = await startEmulator({ port: 0, concurrency: 16, pageLatencyMs: 40 });
});
afterEach(async () => {
  await emulator.close();
});

describe.each([
  ["runs", "the API lets runs be cancelled"],
  ["batch", "the API lets runs be cancelled"],
  ["runs", "every cancel is refused"],
] as const)("in %s mode, when %s", (mode, cancels) => {
  it(`finds, cancels or reports every second run of ${N} inputs, one outcome each`, async () => {
    const dir = scratch();
    const creates = mode === "runs" ? "runWorkflow" : "batchRunWorkflow";
    // About one submission in three is applied 2.5 s after it arrives, whether or not the
    // client is still there: well past the 400 ms timeout and the 100 ms reconcile delay, so
    // even on a loaded machine the lookup comes first and the runner sends again. (At 1.2 s, a
    // verify run under load looked after the late run had landed, and saw no second runs.)
    const refused = cancels === "every cancel is refused";
    await setFaults(emulator, 5, [
      { type: "slow-apply", ms: 2500, probability: 0.35, operations: [creates] },
      ...(refused
        ? [{ type: "status" as const, status: 409, operations: ["cancelWorkflowRun" as const] }]
        : []),
    ]);
    const job = runBatch({
      client: { token: emulator.token, baseUrl: emulator.url },
      workflowId: emulator.seed.workflowId,
      inputs: Array.from({ length: N }, (_, i) => ({ rawText: `Invoice #L-${i}\nTotal: $5.00` })),
      mode,
      chunkSize: 25,
      journal: join(dir, "job.journal"),
      out: join(dir, "results.jsonl"),
      timeoutMs: 400,
      reconcileDelayMs: 100,
      duplicateWatchMs: 8000,
      pollIntervalMs: 100,
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
      random: seeded(3),
    });
    const outcomes: BatchOutcome[] = [];
    for await (const outcome of job) outcomes.push(outcome);
    const summary = await job.done();

    // One outcome per input, in the iterator and in the file.
    expect(outcomes).toHaveLength(N);
    expect(new Set(outcomes.map((o) => o.key)).size).toBe(N);
    const lines = readFileSync(join(dir, "results.jsonl"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(N);

    // Every run on the server is an input's run or a reported second run of it.
    const runs = await serverRuns(emulator, emulator.seed.workflowId);
    const own = new Set(outcomes.map((o) => o.runId));
    const reported = outcomes.flatMap((o) => o.duplicateRuns ?? []);
    expect(own.size).toBe(N);
    expect(reported.length).toBeGreaterThan(0);
    expect(runs).toHaveLength(N + reported.length);
    expect(new Set([...own, ...reported.map((d) => d.runId)])).toEqual(
      new Set(runs.map((r) => r.id)),
    );
    // Cancelled ones are cancelled on the server; the summary counts what the lines say.
    const status = new Map(runs.map((r) => [r.id, r.status]));
    for (const d of reported)
      if (d.cancelled) expect(["CANCELLED", "CANCELLING"]).toContain(status.get(d.runId));
      else expect(status.get(d.runId)).not.toBe("CANCELLED");
    if (refused) expect(reported.every((d) => !d.cancelled)).toBe(true);
    expect(summary.duplicateRuns).toEqual({
      found: reported.length,
      cancelled: reported.filter((d) => d.cancelled).length,
    });
    // No input's own run was cancelled.
    for (const o of outcomes) expect(o.status).toBe("PROCESSED");
    console.log(
      `${mode} mode, ${cancels}: ${N} inputs, ${runs.length} runs on the server, ${summary.duplicateRuns.found} second runs found, ${summary.duplicateRuns.cancelled} cancelled, ${summary.duplicateRuns.found - summary.duplicateRuns.cancelled} reported not cancelled`,
    );
  });
});
