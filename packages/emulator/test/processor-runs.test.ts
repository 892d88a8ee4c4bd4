import type { Schemas } from "@extendkit/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { invoiceText, startTestEmulator, type TestEmulator } from "./helpers/harness.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

const classifierId = "dp_document_classifier";
const extractorId = "dp_invoice_extractor";

const upload = (name: string, text: string) => t.upload(name, text, "text/plain");

async function run(body: Schemas["RunProcessorRequest"]) {
  const { data, error } = await t.client.POST("/processor_runs", { body });
  expect(error).toBeUndefined();
  return data!.processorRun;
}

async function getRun(id: string) {
  const { data } = await t.client.GET("/processor_runs/{id}", { params: { path: { id } } });
  return data!.processorRun;
}

async function listIds(query: NonNullable<Parameters<typeof listRuns>[0]>) {
  const { processorRuns, nextPageToken } = await listRuns({ maxPageSize: 1000, ...query });
  expect(nextPageToken).toBeUndefined();
  return processorRuns.map((r) => r.id);
}

async function listRuns(query: {
  processorId?: string;
  processorType?: Schemas["ProcessorType"];
  status?: Schemas["ProcessorStatus"];
  source?: Schemas["ProcessorRunSource"];
  sourceId?: string;
  fileNameContains?: string;
  maxPageSize?: number;
  nextPageToken?: string;
}) {
  const { data, error } = await t.client.GET("/processor_runs", { params: { query } });
  expect(error).toBeUndefined();
  return data!;
}

async function versionsOf(processorId: string) {
  const { data } = await t.client.GET("/processors/{id}/versions", {
    params: { path: { id: processorId } },
  });
  return data!.versions;
}

describe("POST /processor_runs", () => {
  test("answers an async run in PROCESSING at once, which is PROCESSED with its output after the engine is idle", async () => {
    const created = await run({ processorId: classifierId, rawText: invoiceText(1) });
    expect(created.object).toBe("document_processor_run");
    expect(created.id).toMatch(/^dpr_[A-Za-z0-9_-]{20}$/);
    expect(created.status).toBe("PROCESSING");
    expect(created.output ?? undefined).toBeUndefined();
    expect(created.processorId).toBe(classifierId);
    expect(created.processorName).toBe("Document type classifier");
    expect(created.type).toBe("CLASSIFY");
    expect(created).toMatchObject({
      reviewed: false,
      edited: false,
      edits: {},
      mergedProcessors: [],
    });

    await t.emulator.idle();
    const done = await getRun(created.id);
    expect(done.status).toBe("PROCESSED");
    expect(done.output).toMatchObject({ id: "invoice", type: "invoice" });
    expect(done.initialOutput).toEqual(done.output);
  });

  test("with sync: true answers only once the run is PROCESSED, with its output", async () => {
    const done = await run({ processorId: extractorId, rawText: invoiceText(2, 330), sync: true });
    expect(done.status).toBe("PROCESSED");
    expect(done.output).toMatchObject({
      value: { invoice_number: "INV-0002", total: { amount: 330, iso_4217_currency_code: "USD" } },
    });
    expect((await getRun(done.id)).output).toEqual(done.output);
  });

  test("turns rawText into one TXT file named raw_text.txt", async () => {
    const created = await run({ processorId: classifierId, rawText: "hello" });
    expect(created.files).toHaveLength(1);
    expect(created.files[0]).toMatchObject({ object: "file", type: "TXT", name: "raw_text.txt" });
    expect(created.files[0]?.id).toMatch(/^file_/);
  });

  test("runs on an uploaded file given by fileId, and its output reads that file", async () => {
    const file = await upload("march-invoice.txt", invoiceText(3, 440));
    const done = await run({ processorId: extractorId, file: { fileId: file.id }, sync: true });
    expect(done.files.map((f) => [f.id, f.name])).toEqual([[file.id, "march-invoice.txt"]]);
    expect(done.output).toMatchObject({
      value: { invoice_number: "INV-0003", total: { amount: 440 } },
    });
  });

  test("uses a config override instead of the version's config, and reports it on the run", async () => {
    const config: Schemas["ProcessorConfig"] = {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: { invoice_number: { type: ["string", "null"], description: "Number" } },
      },
    };
    const done = await run({
      processorId: extractorId,
      rawText: invoiceText(4),
      config,
      sync: true,
    });
    expect(done.config).toEqual(config);
    const output = done.output as Schemas["JsonOutput"];
    expect(output.value).toEqual({ invoice_number: "INV-0004" });
  });

  test("runs the draft, a published number, or by default the newest published version", async () => {
    const versions = await versionsOf(extractorId);
    const draft = versions.find((v) => v.version === "draft")!;
    const v1 = versions.find((v) => v.version === "1.0")!;
    expect(draft.id).not.toBe(v1.id);

    const onDraft = await run({ processorId: extractorId, rawText: "x", version: "draft" });
    expect(onDraft.processorVersionId).toBe(draft.id);
    const onV1 = await run({ processorId: extractorId, rawText: "x", version: "1.0" });
    expect(onV1.processorVersionId).toBe(v1.id);
    const byDefault = await run({ processorId: extractorId, rawText: "x" });
    expect(byDefault.processorVersionId).toBe(v1.id);
  });

  test.each([
    ["no processorId", { rawText: "x" }, /body\.processorId is required/],
    [
      "neither file nor rawText",
      { processorId: classifierId },
      /must include one of `file` or `rawText`/,
    ],
    [
      "priority 0",
      { processorId: classifierId, rawText: "x", priority: 0 },
      /priority must be >= 1/,
    ],
    [
      "priority 101",
      { processorId: classifierId, rawText: "x", priority: 101 },
      /priority must be <= 100/,
    ],
    [
      "a config of another processor type",
      {
        processorId: classifierId,
        rawText: "x",
        config: { type: "EXTRACT", schema: { type: "object", properties: {} } },
      },
      /config\.type is "EXTRACT" but the processor's type is "CLASSIFY"/,
    ],
    [
      "a config with an unknown type tag",
      { processorId: classifierId, rawText: "x", config: { type: "SUMMARIZE" } },
      /body\.config/,
    ],
  ])("refuses %s with 400 naming the problem", async (_name, body, message) => {
    const before = (await listRuns({ maxPageSize: 1000 })).processorRuns.length;
    const { status, body: error } = await t.request("POST", "/processor_runs", { body });
    expect(status).toBe(400);
    expect(error).toMatchObject({ success: false, code: "INVALID_REQUEST", retryable: false });
    expect(error.error).toMatch(message);
    expect((await listRuns({ maxPageSize: 1000 })).processorRuns).toHaveLength(before);
  });

  test.each([
    ["an unknown processor", { processorId: "dp_nope", rawText: "x" }, "dp_nope"],
    ["an unknown version", { processorId: classifierId, rawText: "x", version: "9.9" }, "9.9"],
    ["an unknown file", { processorId: classifierId, file: { fileId: "file_nope" } }, "file_nope"],
  ])("answers 404 for %s, naming it", async (_name, body, named) => {
    const { status, body: error } = await t.request("POST", "/processor_runs", { body });
    expect(status).toBe(404);
    expect(error).toMatchObject({ success: false, code: "NOT_FOUND" });
    expect(error.error).toContain(named);
  });
});

describe("GET /processor_runs/{id}", () => {
  test("answers the run with the fields it was created with", async () => {
    const created = await run({
      processorId: classifierId,
      rawText: invoiceText(5),
      metadata: { customer: "c5" },
    });
    await t.emulator.idle();
    const got = await getRun(created.id);
    expect(got).toMatchObject({
      object: "document_processor_run",
      id: created.id,
      processorId: classifierId,
      processorVersionId: created.processorVersionId,
      status: "PROCESSED",
      metadata: { customer: "c5" },
      type: "CLASSIFY",
    });
    expect(got.files.map((f) => f.id)).toEqual(created.files.map((f) => f.id));
  });

  test("answers 404 for an unknown run", async () => {
    const { status, body } = await t.request("GET", "/processor_runs/dpr_doesnotexist");
    expect(status).toBe(404);
    expect(body.error).toContain("dpr_doesnotexist");
  });
});

describe("GET /processor_runs", () => {
  test("filters by processorId and processorType", async () => {
    const classified = await run({ processorId: classifierId, rawText: "a" });
    const extracted = await run({ processorId: extractorId, rawText: "b" });
    await t.emulator.idle();

    const ofClassifier = await listIds({ processorId: classifierId });
    expect(ofClassifier).toContain(classified.id);
    expect(ofClassifier).not.toContain(extracted.id);
    const ofExtractor = await listIds({ processorId: extractorId });
    expect(ofExtractor).toContain(extracted.id);
    expect(ofExtractor).not.toContain(classified.id);

    const { processorRuns } = await listRuns({ processorType: "EXTRACT", maxPageSize: 1000 });
    expect(processorRuns.map((r) => r.id)).toContain(extracted.id);
    expect(processorRuns.map((r) => r.id)).not.toContain(classified.id);
    expect(new Set(processorRuns.map((r) => r.type))).toEqual(new Set(["EXTRACT"]));
  });

  test("answers summaries with the run's processor, version and timestamps", async () => {
    const created = await run({ processorId: extractorId, rawText: "c" });
    await t.emulator.idle();
    const { processorRuns } = await listRuns({ processorId: extractorId, maxPageSize: 1000 });
    const summary = processorRuns.find((r) => r.id === created.id)!;
    expect(summary).toMatchObject({
      id: created.id,
      status: "PROCESSED",
      processorId: extractorId,
      processorName: "Invoice fields",
      processorVersionId: created.processorVersionId,
      type: "EXTRACT",
    });
    expect(new Date(summary.createdAt).toISOString()).toBe(summary.createdAt);
    expect(summary.updatedAt >= summary.createdAt).toBe(true);
    expect(summary).not.toHaveProperty("output");
  });

  test("filters by status", async () => {
    const created = await run({ processorId: classifierId, rawText: "d" });
    await t.emulator.idle();
    const { processorRuns } = await listRuns({ status: "PROCESSED", maxPageSize: 1000 });
    expect(processorRuns.map((r) => r.id)).toContain(created.id);
    expect(new Set(processorRuns.map((r) => r.status))).toEqual(new Set(["PROCESSED"]));
    expect(await listIds({ status: "PROCESSING" })).toEqual([]);
    expect(await listIds({ status: "FAILED" })).not.toContain(created.id);
  });

  test("tells API runs from workflow outputs by source, and finds a workflow run's outputs by sourceId", async () => {
    const direct = await run({ processorId: extractorId, rawText: invoiceText(6) });
    const { data } = await t.client.POST("/workflow_runs", {
      body: { workflowId: "workflow_invoices", rawTexts: [invoiceText(7)] },
    });
    const workflowRunId = data!.workflowRuns[0]!.id;
    await t.emulator.idle();
    const { data: got } = await t.client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId } },
    });
    const outputIds = got!.workflowRun.outputs.map((o) => o.id);
    expect(outputIds).toHaveLength(2);

    expect(new Set(await listIds({ sourceId: workflowRunId }))).toEqual(new Set(outputIds));
    const fromWorkflows = await listIds({ source: "WORKFLOW_RUN" });
    expect(fromWorkflows).toEqual(expect.arrayContaining(outputIds));
    expect(fromWorkflows).not.toContain(direct.id);
    const fromApi = await listIds({ source: "API" });
    expect(fromApi).toContain(direct.id);
    for (const id of outputIds) expect(fromApi).not.toContain(id);
  });

  test("filters by a case-insensitive part of the file name", async () => {
    const zebra = await upload("Zebra-Invoice-77.txt", invoiceText(77));
    const other = await upload("giraffe.txt", invoiceText(78));
    const onZebra = await run({ processorId: classifierId, file: { fileId: zebra.id } });
    const onOther = await run({ processorId: classifierId, file: { fileId: other.id } });
    await t.emulator.idle();
    expect(await listIds({ fileNameContains: "zebra-invoice" })).toEqual([onZebra.id]);
    expect(await listIds({ fileNameContains: "GIRAFFE" })).toEqual([onOther.id]);
  });

  test("pages with maxPageSize and nextPageToken through every run exactly once", async () => {
    const { data } = await t.client.POST("/processors", {
      body: { name: "Paging", type: "CLASSIFY", cloneProcessorId: classifierId },
    });
    const processorId = data!.processor.id;
    const created: string[] = [];
    for (const text of ["p1", "p2", "p3"]) {
      created.push((await run({ processorId, rawText: text })).id);
    }
    await t.emulator.idle();

    const first = await listRuns({ processorId, maxPageSize: 2 });
    expect(first.processorRuns).toHaveLength(2);
    expect(first.nextPageToken).toEqual(expect.any(String));
    const second = await listRuns({
      processorId,
      maxPageSize: 2,
      nextPageToken: first.nextPageToken,
    });
    expect(second.processorRuns).toHaveLength(1);
    expect(second.nextPageToken).toBeUndefined();
    const seen = [...first.processorRuns, ...second.processorRuns].map((r) => r.id);
    expect([...seen].sort()).toEqual([...created].sort());
  });

  test.each([
    ["maxPageSize 0", "maxPageSize=0", /query\.maxPageSize must be >= 1/],
    ["maxPageSize 1001", "maxPageSize=1001", /query\.maxPageSize must be <= 1000/],
    ["an unknown status", "status=DONE", /query\.status must be one of/],
    ["an unknown source", "source=EMAIL", /query\.source must be one of/],
    ["a token it did not issue", "nextPageToken=garbage", /nextPageToken/],
  ])("refuses %s with 400", async (_name, query, message) => {
    const { status, body } = await t.request("GET", `/processor_runs?${query}`);
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
  });
});

describe("POST /processor_runs/{id}/cancel", () => {
  test("cancels a PROCESSING run: it answers CANCELLED and stays CANCELLED", async () => {
    const slow = await startTestEmulator({ pageLatencyMs: 60_000 });
    try {
      const { data } = await slow.client.POST("/processor_runs", {
        body: { processorId: classifierId, rawText: invoiceText(8) },
      });
      const id = data!.processorRun.id;
      const other = (
        await slow.client.POST("/processor_runs", {
          body: { processorId: classifierId, rawText: invoiceText(9) },
        })
      ).data!.processorRun.id;

      const { data: cancelled, error } = await slow.client.POST("/processor_runs/{id}/cancel", {
        params: { path: { id } },
      });
      expect(error).toBeUndefined();
      expect(cancelled?.processorRun).toMatchObject({ id, status: "CANCELLED" });
      expect(cancelled?.processorRun.output ?? undefined).toBeUndefined();

      const listed = async (status: Schemas["ProcessorStatus"]) =>
        (
          await slow.client.GET("/processor_runs", { params: { query: { status } } })
        ).data!.processorRuns.map((r) => r.id);
      expect(await listed("CANCELLED")).toEqual([id]);
      expect(await listed("PROCESSING")).toEqual([other]);

      // Cancelling the other run too empties the queue; the cancelled run never resumes.
      await slow.client.POST("/processor_runs/{id}/cancel", { params: { path: { id: other } } });
      await slow.emulator.idle();
      const { data: got } = await slow.client.GET("/processor_runs/{id}", {
        params: { path: { id } },
      });
      expect(got?.processorRun.status).toBe("CANCELLED");

      const again = await slow.request("POST", `/processor_runs/${id}/cancel`);
      expect(again.status).toBe(400);
      expect(again.body.error).toMatch(/CANCELLED/);
    } finally {
      await slow.close();
    }
  });

  test("refuses a PROCESSED run with 400", async () => {
    const done = await run({ processorId: classifierId, rawText: "x", sync: true });
    expect(done.status).toBe("PROCESSED");
    const { status, body } = await t.request("POST", `/processor_runs/${done.id}/cancel`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, code: "INVALID_REQUEST" });
    expect(body.error).toMatch(/only a run in PROCESSING can be cancelled/);
    expect((await getRun(done.id)).status).toBe("PROCESSED");
  });

  test("answers 404 for an unknown run", async () => {
    const { status, body } = await t.request("POST", "/processor_runs/dpr_nope/cancel");
    expect(status).toBe(404);
    expect(body.error).toContain("dpr_nope");
  });
});

describe("DELETE /processor_runs/{id}", () => {
  test("deletes the run under documentProcessorRunId: a later GET and a second DELETE answer 404", async () => {
    const done = await run({ processorId: classifierId, rawText: "x", sync: true });
    const { data, error } = await t.client.DELETE("/processor_runs/{id}", {
      params: { path: { id: done.id } },
    });
    expect(error).toBeUndefined();
    expect(data).toEqual({
      success: true,
      documentProcessorRunId: done.id,
      message: expect.any(String),
    });
    expect((await t.request("GET", `/processor_runs/${done.id}`)).status).toBe(404);
    expect(await listIds({ processorId: classifierId })).not.toContain(done.id);
    expect((await t.request("DELETE", `/processor_runs/${done.id}`)).status).toBe(404);
  });
});

describe("GET /batch_processor_runs/{id}", () => {
  test("answers an evaluation run, PROCESSED over every item of the set", async () => {
    const files = [
      await upload("eval-1.txt", invoiceText(11)),
      await upload("eval-2.txt", invoiceText(12)),
    ];
    const { data: set } = await t.client.POST("/evaluation_sets", {
      body: { name: "Eval", description: "Two invoices", processorId: extractorId },
    });
    const evaluationSetId = set!.evaluationSet.id;
    await t.client.POST("/evaluation_set_items/bulk", {
      body: {
        evaluationSetId,
        items: files.map((f, i) => ({
          fileId: f.id,
          expectedOutput: { value: { invoice_number: `INV-001${i + 1}` } },
        })),
      },
    });
    const started = await t.admin("POST", `/evaluation_sets/${evaluationSetId}/runs`);
    const id: string = started.batchProcessorRun.id;
    expect(id).toMatch(/^bpr_[A-Za-z0-9_-]{20}$/);
    await t.emulator.idle();

    const { data, error } = await t.client.GET("/batch_processor_runs/{id}", {
      params: { path: { id } },
    });
    expect(error).toBeUndefined();
    expect(data?.batchProcessorRun).toMatchObject({
      object: "batch_processor_run",
      id,
      processorId: extractorId,
      processorName: "Invoice fields",
      status: "PROCESSED",
      source: "EVAL_SET",
      sourceId: evaluationSetId,
      runCount: 2,
      metrics: { numFiles: 2 },
    });
  });

  test("answers 404 for an unknown batch processor run", async () => {
    const { status, body } = await t.request("GET", "/batch_processor_runs/bpr_nope");
    expect(status).toBe(404);
    expect(body.error).toContain("bpr_nope");
  });
});
