import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Schemas } from "@extendkit/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  eventually,
  invoiceText,
  startTestEmulator,
  type TestEmulator,
} from "./helpers/harness.js";

const workflowId = "workflow_invoices";
const reviewWorkflowId = "workflow_invoices_review";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

async function runOne(
  on: TestEmulator,
  text: string,
  extra: { workflowId?: string; priority?: number } = {},
) {
  const { data, error } = await on.client.POST("/workflow_runs", {
    body: { workflowId, rawTexts: [text], ...extra },
  });
  expect(error).toBeUndefined();
  return data!.workflowRuns[0]!.id;
}

async function getRun(on: TestEmulator, id: string) {
  const { data, error } = await on.client.GET("/workflow_runs/{workflowRunId}", {
    params: { path: { workflowRunId: id } },
  });
  expect(error).toBeUndefined();
  return data!.workflowRun;
}

/** Polls the run until it is in `status` (bounded by `eventually`). */
function runInStatus(on: TestEmulator, id: string, status: Schemas["WorkflowStatus"]) {
  return eventually(async () => {
    const run = await getRun(on, id);
    return run.status === status ? run : undefined;
  });
}

function cancel(on: TestEmulator, id: string) {
  return on.request("POST", `/workflow_runs/${id}/cancel`);
}

async function countRuns(on: TestEmulator) {
  const { data } = await on.client.GET("/workflow_runs", {
    params: { query: { maxPageSize: 1000 } },
  });
  return data!.workflowRuns.length;
}

const upload = (on: TestEmulator, name: string, text: string) =>
  on.upload(name, text, "text/plain");

describe("POST /workflow_runs/{id}/cancel on runs in progress", () => {
  // One worker and a minute per page: the first run stays PROCESSING, later runs PENDING.
  let slow: TestEmulator;
  beforeAll(async () => {
    slow = await startTestEmulator({ concurrency: 1, pageLatencyMs: 60_000 });
  });
  afterAll(() => slow.close());

  test("cancelling a PENDING run answers CANCELLED at once, and the run never starts", async () => {
    const blocker = await runOne(slow, "blocker");
    await runInStatus(slow, blocker, "PROCESSING");
    const queued = await runOne(slow, "queued");
    expect((await getRun(slow, queued)).status).toBe("PENDING");

    const { status, body } = await cancel(slow, queued);
    expect(status).toBe(200);
    expect(body.success).toBe(true);
    expect(body.workflowRun).toMatchObject({ id: queued, status: "CANCELLED" });
    expect(body.workflowRun.endTime).toEqual(expect.any(String));
    expect(body.workflowRun.startTime).toBeUndefined();

    // Free the only worker: a queued run would now start (and keep the engine busy).
    expect((await cancel(slow, blocker)).status).toBe(200);
    await slow.emulator.idle();
    const after = await getRun(slow, queued);
    expect(after.status).toBe("CANCELLED");
    expect(after.startTime).toBeUndefined();
    expect(after.outputs).toEqual([]);
  });

  test("cancelling a PROCESSING run answers CANCELLING, then the run becomes CANCELLED", async () => {
    const id = await runOne(slow, invoiceText(1));
    const processing = await runInStatus(slow, id, "PROCESSING");
    expect(processing.startTime).toEqual(expect.any(String));

    const { status, body } = await cancel(slow, id);
    expect(status).toBe(200);
    expect(body).toMatchObject({ success: true, workflowRun: { id, status: "CANCELLING" } });

    const cancelled = await runInStatus(slow, id, "CANCELLED");
    expect(cancelled.endTime! >= cancelled.startTime!).toBe(true);
    expect(cancelled.outputs).toEqual([]);
    const { data } = await slow.client.GET("/workflow_runs", {
      params: { query: { status: "CANCELLED" } },
    });
    expect(data?.workflowRuns.map((r) => r.id)).toContain(id);

    const again = await cancel(slow, id);
    expect(again.status).toBe(400);
    expect(again.body.error).toMatch(/CANCELLED/);
  });
});

describe("POST /workflow_runs/{id}/cancel on finished runs", () => {
  test.each<[Schemas["WorkflowStatus"], () => Promise<string>]>([
    [
      "PROCESSED",
      async () => {
        const id = await runOne(t, invoiceText(2));
        await t.emulator.idle();
        return id;
      },
    ],
    [
      "NEEDS_REVIEW",
      async () => {
        const id = await runOne(t, invoiceText(3), { workflowId: reviewWorkflowId });
        await t.emulator.idle();
        return id;
      },
    ],
    [
      "REJECTED",
      async () => {
        const id = await runOne(t, invoiceText(4), { workflowId: reviewWorkflowId });
        await t.emulator.idle();
        await t.admin("POST", `/workflow_runs/${id}/review`, { decision: "reject" });
        return id;
      },
    ],
  ])("refuses to cancel a %s run with 400 and leaves it as it was", async (state, setup) => {
    const id = await setup();
    expect((await getRun(t, id)).status).toBe(state);
    const { status, body } = await cancel(t, id);
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, code: "INVALID_REQUEST" });
    expect(body.error).toContain(state);
    expect((await getRun(t, id)).status).toBe(state);
  });

  test("answers 404 for an unknown run", async () => {
    const { status, body } = await cancel(t, "workflow_run_nope");
    expect(status).toBe(404);
    expect(body.error).toContain("workflow_run_nope");
  });
});

describe("POST /workflow_runs/batch", () => {
  test.each([
    ["no inputs", { workflowId, inputs: [] }, /body\.inputs must NOT have fewer than 1 items/],
    [
      "1001 inputs",
      { workflowId, inputs: Array.from({ length: 1001 }, (_, i) => ({ rawText: `t${i}` })) },
      /body\.inputs must NOT have more than 1000 items/,
    ],
    [
      "an input with neither file nor rawText",
      { workflowId, inputs: [{ rawText: "x" }, { metadata: { a: 1 } }] },
      /body\.inputs\[1\]/,
    ],
    ["no workflowId", { inputs: [{ rawText: "x" }] }, /workflowId/],
  ])("refuses %s with 400 and creates no run", async (_name, body, message) => {
    const before = await countRuns(t);
    const { status, body: error } = await t.request("POST", "/workflow_runs/batch", { body });
    expect(status).toBe(400);
    expect(error).toMatchObject({ success: false, code: "INVALID_REQUEST", retryable: false });
    expect(error.error).toMatch(message);
    expect(await countRuns(t)).toBe(before);
  });

  test.each([
    [
      "an unknown workflow",
      { workflowId: "workflow_nope", inputs: [{ rawText: "x" }] },
      "workflow_nope",
    ],
    [
      "an unknown file",
      { workflowId, inputs: [{ rawText: "x" }, { file: { fileId: "file_nope" } }] },
      "file_nope",
    ],
  ])("answers 404 for %s and creates no run", async (_name, body, named) => {
    const before = await countRuns(t);
    const { status, body: error } = await t.request("POST", "/workflow_runs/batch", { body });
    expect(status).toBe(404);
    expect(error).toMatchObject({ success: false, code: "NOT_FOUND" });
    expect(error.error).toContain(named);
    expect(await countRuns(t)).toBe(before);
  });

  test("answers only the batchId; the listed runs carry it and each its own metadata, and finish PROCESSED", async () => {
    const file = await upload(t, "batch-invoice.txt", invoiceText(21, 210));
    const inputs = [
      { rawText: invoiceText(20, 200), metadata: { invoice: "INV-0020", position: 0 } },
      { file: { fileId: file.id }, metadata: { invoice: "INV-0021", position: 1 } },
      { rawText: invoiceText(22, 220), metadata: { invoice: "INV-0022", position: 2 } },
    ];
    const { data, error } = await t.client.POST("/workflow_runs/batch", {
      body: { workflowId, inputs },
    });
    expect(error).toBeUndefined();
    expect(data).toEqual({
      success: true,
      batchId: expect.stringMatching(/^batch_[A-Za-z0-9_-]+$/),
    });
    const batchId = data!.batchId;

    const { data: listed } = await t.client.GET("/workflow_runs", {
      params: { query: { batchId } },
    });
    const summaries = listed!.workflowRuns;
    expect(summaries).toHaveLength(3);
    expect(summaries.every((r) => r.batchId === batchId && r.workflowId === workflowId)).toBe(true);

    await t.emulator.idle();
    const runs = await Promise.all(summaries.map((s) => getRun(t, s.id)));
    expect(runs.map((r) => r.metadata.position).sort()).toEqual([0, 1, 2]);
    for (const run of runs) {
      const input = inputs[run.metadata.position as number]!;
      expect(run.batchId).toBe(batchId);
      expect(run.metadata).toEqual(input.metadata);
      expect(run.status).toBe("PROCESSED");
      // The run processed its own input: the extracted invoice number is its metadata's.
      const extracted = run.outputs.find((o) => o.type === "EXTRACT")?.output;
      expect(extracted).toMatchObject({ value: { invoice_number: input.metadata.invoice } });
      if (input.file) expect(run.files.map((f) => f.id)).toEqual([file.id]);
      else expect(run.files.map((f) => f.type)).toEqual(["TXT"]);
    }
  });
});

describe("run priority", () => {
  // One worker held busy by a run whose external-validation step waits for this gate; the
  // other runs queue up behind it. 30 ms per page and step keeps their start times apart.
  let p: TestEmulator;
  let gate: Server;
  let gateUrl = "";
  let arrived: Promise<void>;
  let release: () => void = () => {};
  beforeAll(async () => {
    let signalArrival: () => void = () => {};
    arrived = new Promise((resolve) => {
      signalArrival = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    gate = createServer((req, res) => {
      req.resume();
      signalArrival();
      void released.then(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: true }));
      });
    });
    await new Promise<void>((resolve) => gate.listen(0, "127.0.0.1", resolve));
    gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/gate`;
    p = await startTestEmulator({ concurrency: 1, pageLatencyMs: 30 });
  });
  afterAll(async () => {
    release();
    await p.close();
    gate.closeAllConnections();
    await new Promise((resolve) => gate.close(resolve));
  });

  test("a later run with priority 1 starts before earlier priority-50 runs, and batch runs (priority 90) start last", async () => {
    const { workflow } = await p.admin("POST", "/workflows", {
      name: "Gated",
      steps: [{ type: "EXTERNAL_DATA_VALIDATION", name: "Wait for the gate", url: gateUrl }],
    });
    const blocker = await runOne(p, "blocker", { workflowId: workflow.id });
    await arrived;

    const { data: early } = await p.client.POST("/workflow_runs", {
      body: { workflowId, rawTexts: [invoiceText(31), invoiceText(32)] },
    });
    const earlyIds = early!.workflowRuns.map((r) => r.id);
    const { data: batch } = await p.client.POST("/workflow_runs/batch", {
      body: { workflowId, inputs: [{ rawText: invoiceText(33) }, { rawText: invoiceText(34) }] },
    });
    const { data: batchRuns } = await p.client.GET("/workflow_runs", {
      params: { query: { batchId: batch!.batchId } },
    });
    const batchIds = batchRuns!.workflowRuns.map((r) => r.id);
    const urgent = await runOne(p, invoiceText(35), { priority: 1 });
    expect(batchIds).toHaveLength(2);
    for (const id of [...earlyIds, ...batchIds, urgent])
      expect((await getRun(p, id)).status).toBe("PENDING");

    release();
    await p.emulator.idle();
    const startOf = async (id: string) => {
      const run = await getRun(p, id);
      expect(run.status).toBe("PROCESSED");
      return run.startTime!;
    };
    const blockerStart = await startOf(blocker);
    const urgentStart = await startOf(urgent);
    const earlyStarts = await Promise.all(earlyIds.map(startOf));
    const batchStarts = await Promise.all(batchIds.map(startOf));

    expect(blockerStart < urgentStart).toBe(true);
    expect(earlyStarts.every((s) => urgentStart < s)).toBe(true);
    // Among equal priorities the earlier submission goes first.
    expect(earlyStarts[0]! < earlyStarts[1]!).toBe(true);
    expect(batchStarts.every((b) => earlyStarts.every((e) => e < b))).toBe(true);
  });
});

describe("runs of a workflow with a human-review step", () => {
  async function runToReview(n: number) {
    const id = await runOne(t, invoiceText(n), { workflowId: reviewWorkflowId });
    await t.emulator.idle();
    return id;
  }

  test("end in NEEDS_REVIEW with their extraction output and reviewed: false", async () => {
    const run = await getRun(t, await runToReview(40));
    expect(run.status).toBe("NEEDS_REVIEW");
    expect(run.reviewed).toBe(false);
    expect(run.reviewedAt).toBeUndefined();
    expect(run.outputs.map((o) => o.type)).toEqual(["EXTRACT"]);
    expect(run.outputs[0]?.output).toMatchObject({ value: { invoice_number: "INV-0040" } });
  });

  test("approving the review makes the run PROCESSED, reviewed, with reviewedAt", async () => {
    const id = await runToReview(41);
    await t.admin("POST", `/workflow_runs/${id}/review`, { decision: "approve" });
    const run = await getRun(t, id);
    expect(run.status).toBe("PROCESSED");
    expect(run.reviewed).toBe(true);
    expect(new Date(run.reviewedAt!).toISOString()).toBe(run.reviewedAt);
    expect(run.reviewedAt! >= run.startTime!).toBe(true);
    expect(run.reviewedBy).toEqual(expect.any(String));
    expect(run.rejectionNote).toBeUndefined();
    const { data } = await t.client.GET("/workflow_runs", {
      params: { query: { workflowId: reviewWorkflowId, status: "PROCESSED" } },
    });
    const summary = data?.workflowRuns.find((r) => r.id === id);
    expect(summary).toMatchObject({ reviewedAt: run.reviewedAt, reviewedByUser: run.reviewedBy });
  });

  test("rejecting the review with a note makes the run REJECTED with that rejectionNote", async () => {
    const id = await runToReview(42);
    await t.admin("POST", `/workflow_runs/${id}/review`, {
      decision: "reject",
      note: "Total does not match the PO",
    });
    const run = await getRun(t, id);
    expect(run.status).toBe("REJECTED");
    expect(run.reviewed).toBe(true);
    expect(run.rejectionNote).toBe("Total does not match the PO");
    expect(new Date(run.reviewedAt!).toISOString()).toBe(run.reviewedAt);
    const { data } = await t.client.GET("/workflow_runs", {
      params: { query: { status: "REJECTED" } },
    });
    expect(data?.workflowRuns.find((r) => r.id === id)?.rejectionNote).toBe(
      "Total does not match the PO",
    );
  });
});

describe("POST /workflow_runs/{id}/outputs/{outputId} (deprecated)", () => {
  let runId = "";
  let outputs: Schemas["ProcessorRun"][] = [];
  beforeAll(async () => {
    runId = await runOne(t, invoiceText(7, 250));
    await t.emulator.idle();
    outputs = (await getRun(t, runId)).outputs;
  });
  const outputOf = (type: Schemas["ProcessorType"]) => outputs.find((o) => o.type === type)!;

  test("merges partial extraction values into the output: reviewedOutput is set and output reflects it", async () => {
    const extraction = outputOf("EXTRACT");
    const { data, error } = await t.client.POST(
      "/workflow_runs/{workflowRunId}/outputs/{outputId}",
      {
        params: { path: { workflowRunId: runId, outputId: extraction.id } },
        body: { reviewedOutput: { value: { invoice_number: "INV-9999", due_date: "2025-05-01" } } },
      },
    );
    expect(error).toBeUndefined();
    const corrected = data!.workflowRun.outputs.find((o) => o.id === extraction.id)!;
    const expected = {
      invoice_number: "INV-9999",
      due_date: "2025-05-01",
      invoice_date: "2025-03-14",
      total: { amount: 250, iso_4217_currency_code: "USD" },
    };
    expect(corrected.reviewedOutput).toMatchObject({ value: expected });
    expect(corrected.output).toEqual(corrected.reviewedOutput);
    expect(corrected.initialOutput).toMatchObject({ value: { invoice_number: "INV-0007" } });

    // The correction is stored: the run and the processor run both answer it.
    const stored = (await getRun(t, runId)).outputs.find((o) => o.id === extraction.id);
    expect(stored?.output).toMatchObject({ value: expected });
    const { data: direct } = await t.client.GET("/processor_runs/{id}", {
      params: { path: { id: extraction.id } },
    });
    expect(direct?.processorRun.output).toMatchObject({ value: expected });
    // The other output is untouched.
    expect((await getRun(t, runId)).outputs.find((o) => o.type === "CLASSIFY")?.output).toEqual(
      outputOf("CLASSIFY").output,
    );
  });

  test("a classification correction replaces the chosen class", async () => {
    const classification = outputOf("CLASSIFY");
    const { data, error } = await t.client.POST(
      "/workflow_runs/{workflowRunId}/outputs/{outputId}",
      {
        params: { path: { workflowRunId: runId, outputId: classification.id } },
        body: { reviewedOutput: { id: "receipt", type: "receipt" } },
      },
    );
    expect(error).toBeUndefined();
    const corrected = data!.workflowRun.outputs.find((o) => o.id === classification.id)!;
    expect(corrected.output).toMatchObject({ id: "receipt", type: "receipt" });
    expect(corrected.reviewedOutput).toEqual(corrected.output);
  });

  test.each([
    ["an unknown outputId", () => `/workflow_runs/${runId}/outputs/dpr_nope`, "dpr_nope"],
    [
      "an unknown run",
      () => `/workflow_runs/workflow_run_nope/outputs/${outputOf("EXTRACT").id}`,
      "workflow_run_nope",
    ],
  ])("answers 404 for %s", async (_name, path, named) => {
    const { status, body } = await t.request("POST", path(), {
      body: { reviewedOutput: { value: { invoice_number: "X" } } },
    });
    expect(status).toBe(404);
    expect(body.error).toContain(named);
  });
});
