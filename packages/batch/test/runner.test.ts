import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { WorkflowRun } from "@extendkit/core";
import { createWebhookHandler } from "@extendkit/core/handlers";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type BatchOutcome,
  createMemoryJournal,
  JournalExistsError,
  RetryBudgetExhaustedError,
  runBatch,
} from "../src/index.js";
import { scratch, serverRuns, setFaults } from "./helpers.js";

let emulator: Emulator;
beforeEach(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterEach(async () => {
  await emulator.close();
});

const client = () => ({ token: emulator.token, baseUrl: emulator.url });

async function collect(job: AsyncIterable<BatchOutcome>) {
  const all: BatchOutcome[] = [];
  for await (const o of job) all.push(o);
  return all;
}

describe("runBatch", () => {
  it("isolates an input the API refuses, so the rest of its chunk still runs", async () => {
    const inputs = [
      ...Array.from({ length: 7 }, (_, i) => ({ rawText: `Invoice #${i}, total $${i + 1}.00` })),
      { fileId: "file_does_not_exist" },
    ];
    const outcomes = await collect(
      runBatch({
        client: client(),
        workflowId: emulator.seed.workflowId,
        inputs,
        mode: "runs",
        journal: false,
        pollIntervalMs: 50,
      }),
    );
    expect(outcomes).toHaveLength(8);
    const refused = outcomes.filter((o) => o.status === "ERROR");
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ input: "file_does_not_exist", error: { status: 404 } });
    expect(await serverRuns(emulator, emulator.seed.workflowId)).toHaveLength(7);
  });

  it("reports a repeated input as a duplicate and runs it once", async () => {
    const outcomes = await collect(
      runBatch({
        client: client(),
        workflowId: emulator.seed.workflowId,
        inputs: [{ rawText: "Invoice #1" }, { rawText: "Invoice #2" }, { rawText: "Invoice #1" }],
        journal: false,
        pollIntervalMs: 50,
      }),
    );
    expect(outcomes.map((o) => o.status).sort()).toEqual(["DUPLICATE", "PROCESSED", "PROCESSED"]);
    expect(await serverRuns(emulator, emulator.seed.workflowId)).toHaveLength(2);
  });

  it("keeps per-input metadata and the caller's priority on the runs", async () => {
    const outcomes = await collect(
      runBatch({
        client: client(),
        workflowId: emulator.seed.workflowId,
        inputs: [
          { rawText: "Invoice #1", metadata: { row: 1 } },
          { rawText: "Invoice #2", metadata: { row: 2 } },
        ],
        metadata: { source: "test" },
        priority: 7,
        journal: false,
        pollIntervalMs: 50,
      }),
    );
    const rows = outcomes
      .map((o) => o.run?.metadata)
      .sort((a, b) => Number(a?.row) - Number(b?.row));
    expect(rows).toEqual([
      expect.objectContaining({ source: "test", row: 1 }),
      expect.objectContaining({ source: "test", row: 2 }),
    ]);
  });

  it("stops with a typed error when the retry budget is spent, leaving the journal to resume", async () => {
    await setFaults(emulator, 1, [
      { type: "status", status: 503, operations: ["runWorkflow", "batchRunWorkflow"] },
    ]);
    const dir = scratch();
    const job = runBatch({
      client: client(),
      workflowId: emulator.seed.workflowId,
      inputs: [{ rawText: "Invoice #1" }],
      journal: join(dir, "job.journal"),
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      retryBudget: { capacity: 10 },
    });
    await expect(job.done()).rejects.toThrow(RetryBudgetExhaustedError);
    await setFaults(emulator, 1, []);
    // Without resume the journal is not mixed with a new job; with it, the job finishes.
    const again = () =>
      runBatch({
        client: client(),
        workflowId: emulator.seed.workflowId,
        inputs: [{ rawText: "Invoice #1" }],
        journal: join(dir, "job.journal"),
        pollIntervalMs: 50,
      });
    await expect(again().done()).rejects.toThrow(JournalExistsError);
    const resumed = runBatch({
      client: client(),
      workflowId: emulator.seed.workflowId,
      inputs: [{ rawText: "Invoice #1" }],
      journal: join(dir, "job.journal"),
      resume: true,
      pollIntervalMs: 50,
    });
    const summary = await resumed.done();
    expect(summary.byStatus).toEqual({ PROCESSED: 1 });
    expect(await serverRuns(emulator, emulator.seed.workflowId)).toHaveLength(1);
  });

  it("takes outcomes from verified webhooks without waiting for a poll", async () => {
    const secret = "whsec_batch_test";
    let job: ReturnType<typeof runBatch> | undefined;
    const used: boolean[] = [];
    const handler = createWebhookHandler({
      secret,
      onEvent: async (event) => {
        const run = (event as { payload?: unknown }).payload as WorkflowRun | undefined;
        if (run?.object === "workflow_run" && job) used.push(await job.notify(run));
      },
    });
    const server = await listen(handler);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    await fetch(`${emulator.url}/_emulator/webhook_endpoints`, {
      method: "POST",
      headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
      body: JSON.stringify({ url, secret }),
    });
    let lists = 0;
    const counting: typeof fetch = (input, init) => {
      const target = input instanceof Request ? input.url : String(input);
      // The one read at the start that learns the server's clock is not a poll.
      if (
        /\/workflow_runs(\?|$)/.test(target) &&
        !target.includes("maxPageSize=1&") &&
        !target.endsWith("maxPageSize=1") &&
        (init?.method ?? (input as Request).method ?? "GET") === "GET"
      )
        lists++;
      return fetch(input, init);
    };
    job = runBatch({
      client: { ...client(), fetch: counting },
      workflowId: emulator.seed.workflowId,
      inputs: Array.from({ length: 5 }, (_, i) => ({ rawText: `Invoice #${i}, total $9.00` })),
      mode: "runs",
      journal: false,
      // Far longer than the test: only webhooks can deliver the outcomes in time.
      pollIntervalMs: 600_000,
    });
    const outcomes = await collect(job);
    server.close();
    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill("PROCESSED"));
    expect(used.filter(Boolean)).toHaveLength(5);
    expect(lists).toBe(0);
  });
});

function listen(handler: (request: Request) => Promise<Response>): Promise<Server> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: Buffer.concat(chunks),
    });
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("stopping", () => {
  it("stops the job when the caller stops reading its outcomes", async () => {
    const job = runBatch({
      client: client(),
      workflowId: emulator.seed.workflowId,
      inputs: Array.from({ length: 2000 }, (_, i) => ({ rawText: `Invoice #${i}` })),
      mode: "runs",
      chunkSize: 10,
      concurrency: 1,
      journal: false,
      pollIntervalMs: 50,
    });
    for await (const _ of job) break;
    await expect(job.done()).rejects.toThrow(/no longer being read/);
    const submitted = job.stats.submitted;
    expect(submitted).toBeLessThan(2000);
    expect((await serverRuns(emulator, emulator.seed.workflowId)).length).toBeLessThanOrEqual(
      submitted + 10,
    );
  });
});

describe("review findings", () => {
  it("never leaves an input without a chunk while splitting a refused one", async () => {
    const journal = createMemoryJournal();
    const orphaned: string[] = [];
    const drop = journal.dropChunk.bind(journal);
    journal.dropChunk = async (id) => {
      const keys = (await journal.chunkEntries(id)).map((e) => e.key);
      await drop(id);
      // A resumed process re-reading its inputs would send any key left without a chunk.
      for (const key of keys) if (!(await journal.entry(key))?.chunkId) orphaned.push(key);
    };
    const outcomes = await collect(
      runBatch({
        client: client(),
        workflowId: emulator.seed.workflowId,
        inputs: [
          ...Array.from({ length: 5 }, (_, i) => ({ rawText: `Invoice #${i}` })),
          { fileId: "file_missing" },
        ],
        mode: "runs",
        journal,
        pollIntervalMs: 50,
      }),
    );
    expect(outcomes.filter((o) => o.status === "ERROR")).toHaveLength(1);
    // Only the refused input itself is dropped for good.
    expect(orphaned).toEqual([outcomes.find((o) => o.status === "ERROR")?.key]);
  });

  it("stops, rather than failing inputs, when uploads are refused for the token", async () => {
    const dir = scratch();
    const path = join(dir, "a.txt");
    writeFileSync(path, "Invoice #1, total $3.00");
    await setFaults(emulator, 1, [{ type: "status", status: 401, operations: ["uploadFile"] }]);
    const journal = createMemoryJournal();
    const job = runBatch({
      client: client(),
      workflowId: emulator.seed.workflowId,
      inputs: [path],
      journal,
    });
    await expect(job.done()).rejects.toThrow(/Uploading .*a\.txt failed.*token/);
    expect(job.stats.finished).toBe(0);
  });

  it("ignores a webhook for a run of another workflow", async () => {
    const job = runBatch({
      client: client(),
      workflowId: emulator.seed.workflowId,
      inputs: [{ rawText: "Invoice #1" }],
      journal: false,
      pollIntervalMs: 50,
    });
    const done = job.done();
    const foreign = {
      id: "workflow_run_other",
      status: "PROCESSED",
      workflow: { id: "workflow_other" },
      metadata: { "extendkit:key": "in_x" },
      batchId: "batch_x",
    } as unknown as WorkflowRun;
    expect(await job.notify(foreign)).toBe(false);
    expect((await done).byStatus).toEqual({ PROCESSED: 1 });
  });

  it("lets done() wait for a job someone else iterates, and refuses a second reader", async () => {
    const job = runBatch({
      client: client(),
      workflowId: emulator.seed.workflowId,
      inputs: [{ rawText: "Invoice #1" }, { rawText: "Invoice #2" }],
      journal: false,
      pollIntervalMs: 50,
    });
    const reading = collect(job);
    const summary = job.done();
    await expect(collect(job)).rejects.toThrow(/one consumer/);
    expect(await reading).toHaveLength(2);
    expect((await summary).total).toBe(2);
  });
});
