import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@extendkit/core";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BatchOutcome, runBatch } from "../src/index.js";
import { FAULTS, scratch, seeded, serverRuns, setFaults } from "./helpers.js";

const N = 2000;
const texts = (tag: string) =>
  Array.from({ length: N }, (_, i) => `Invoice #${tag}-${i}\nTotal: $${(i % 90) + 10}.00`);

let emulator: Emulator;
beforeEach(async () => {
  emulator = await startEmulator({ port: 0, concurrency: 8 });
});
afterEach(async () => {
  await emulator.close();
});

describe.each(["runs", "batch"] as const)(
  "in %s mode, with a fifth of requests failing",
  (mode) => {
    it(`gives each of ${N} inputs exactly one run and one outcome`, async () => {
      const dir = scratch();
      const inputs = texts(mode);
      const forced = mode === "runs" ? "runWorkflow" : "batchRunWorkflow";
      await setFaults(emulator, 7, [
        // Both reconciliation paths for sure: the first submission fails with a 500 before doing
        // anything (the lost-response rule is drawn for it too, but the 500 answers first), the
        // second is applied and its answer lost.
        { type: "status", status: 500, count: 1, operations: [forced] },
        { type: "lost-response", count: 2, operations: [forced] },
        ...FAULTS,
      ]);
      const job = runBatch({
        client: { token: emulator.token, baseUrl: emulator.url },
        workflowId: emulator.seed.workflowId,
        inputs: inputs.map((rawText) => ({ rawText })),
        mode,
        journal: join(dir, "job.journal"),
        out: join(dir, "results.jsonl"),
        pollIntervalMs: 100,
        reconcileDelayMs: 50,
        duplicateWatchMs: 500,
        retry: { baseDelayMs: 20, maxDelayMs: 200 },
        random: seeded(1),
      });
      const outcomes: BatchOutcome[] = [];
      for await (const outcome of job) outcomes.push(outcome);

      expect(job.stats.retries).toBeGreaterThan(0);
      expect(job.stats.reconciled).toBeGreaterThanOrEqual(2);
      expect(job.stats.reconciledApplied).toBeGreaterThanOrEqual(1);
      expect(job.stats.reconciled - job.stats.reconciledApplied).toBeGreaterThanOrEqual(1);

      const runs = await serverRuns(emulator, emulator.seed.workflowId);
      expect(runs).toHaveLength(N);
      // One outcome per input, each naming a distinct run that exists on the server.
      expect(new Set(outcomes.map((o) => o.key)).size).toBe(N);
      expect(outcomes.every((o) => o.status === "PROCESSED")).toBe(true);
      expect(new Set(outcomes.map((o) => o.runId))).toEqual(new Set(runs.map((r) => r.id)));
      // Each outcome is the run of its own input: the run's file holds that input's text
      // (checked on a spread of 40 outcomes).
      const client = createClient({
        token: emulator.token,
        baseUrl: emulator.url,
        throwOnError: true,
      });
      for (const o of outcomes.filter((_, i) => i % 50 === 0)) {
        const invoice = /Invoice #\S+/.exec(o.input)?.[0];
        const { data } = await client.GET("/files/{id}", {
          params: { path: { id: o.run?.files[0]?.id as string }, query: { rawText: true } },
        });
        expect(invoice && data.file.contents?.rawText).toContain(invoice);
      }
      const lines = readFileSync(join(dir, "results.jsonl"), "utf8").trim().split("\n");
      expect(lines).toHaveLength(N);
    });
  },
);
