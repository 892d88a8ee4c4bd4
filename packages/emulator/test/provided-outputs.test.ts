import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { invoiceText, startTestEmulator, type TestEmulator } from "./helpers/harness.js";

// Caller-provided outputs (evaluation expectations, run overrides, review corrections) are
// checked against the processor's config, not only against the output shapes.
let t: TestEmulator;
let fileId: string;
let classifierSet: string;
let extractorSet: string;

beforeAll(async () => {
  t = await startTestEmulator();
  const form = new FormData();
  form.append("file", new Blob([invoiceText(1)], { type: "text/plain" }), "i.txt");
  fileId = (await t.client.POST("/files/upload", { body: form as never })).data!.file.id;
  const set = async (processorId: string) =>
    (
      await t.client.POST("/evaluation_sets", {
        body: { name: processorId, description: "d", processorId },
      })
    ).data!.evaluationSet.id;
  classifierSet = await set("dp_document_classifier");
  extractorSet = await set("dp_invoice_extractor");
});
afterAll(() => t.close());

describe("evaluation set items", () => {
  test.each([
    [
      "a classification the classifier has",
      () => classifierSet,
      { id: "invoice", type: "invoice" },
      200,
    ],
    [
      "a classification id the classifier lacks",
      () => classifierSet,
      { id: "memo", type: "memo" },
      400,
    ],
    [
      "a class id with the wrong type",
      () => classifierSet,
      { id: "invoice", type: "receipt" },
      400,
    ],
    [
      "extracted values for schema properties",
      () => extractorSet,
      { value: { invoice_number: "INV-1", total: { amount: 1, iso_4217_currency_code: "USD" } } },
      200,
    ],
    [
      "a value for a property the schema lacks",
      () => extractorSet,
      { value: { colour: "red" } },
      400,
    ],
    [
      "a classification for an extractor",
      () => extractorSet,
      { id: "invoice", type: "invoice" },
      400,
    ],
  ])("%s → %s", async (_name, set, expectedOutput, status) => {
    const { status: got, body } = await t.request("POST", "/evaluation_set_items", {
      body: { evaluationSetId: set(), fileId, expectedOutput },
    });
    expect(got).toBe(status);
    if (status === 400) expect(body.error).toMatch(/body\.expectedOutput/);
  });

  test("a bulk request with one bad expected output adds no item and names its index", async () => {
    const before = (
      await t.client.GET("/evaluation_sets/{id}/items", {
        params: { path: { id: classifierSet }, query: { maxPageSize: 1000 } },
      })
    ).data!.evaluationSetItems.length;
    const { status, body } = await t.request("POST", "/evaluation_set_items/bulk", {
      body: {
        evaluationSetId: classifierSet,
        items: [
          { fileId, expectedOutput: { id: "invoice", type: "invoice" } },
          { fileId, expectedOutput: { id: "memo", type: "memo" } },
        ],
      },
    });
    expect(status).toBe(400);
    expect(body.error).toMatch(/body\.items\[1\]\.expectedOutput\.id "memo"/);
    const after = (
      await t.client.GET("/evaluation_sets/{id}/items", {
        params: { path: { id: classifierSet }, query: { maxPageSize: 1000 } },
      })
    ).data!.evaluationSetItems.length;
    expect(after).toBe(before);
  });
});

describe("workflow run overrides and corrections", () => {
  test("an override naming a class the classifier lacks is refused", async () => {
    const { status, body } = await t.request("POST", "/workflow_runs", {
      body: {
        workflowId: "workflow_invoices",
        files: [
          {
            fileId,
            outputs: [
              { processorId: "dp_document_classifier", output: { id: "memo", type: "memo" } },
            ],
          },
        ],
      },
    });
    expect(status).toBe(400);
    expect(body.error).toMatch(/body\.files\[0\]\.outputs\[0\]\.output\.id "memo"/);
  });

  test("a correction of a property the schema lacks is refused; a known one is merged", async () => {
    const { data } = await t.client.POST("/workflow_runs", {
      body: { workflowId: "workflow_invoices", files: [{ fileId }] },
    });
    const runId = data!.workflowRuns[0]!.id;
    await t.emulator.idle();
    const run = (
      await t.client.GET("/workflow_runs/{workflowRunId}", {
        params: { path: { workflowRunId: runId } },
      })
    ).data!.workflowRun;
    const extraction = run.outputs.find((o) => o.type === "EXTRACT")!;
    const path = `/workflow_runs/${runId}/outputs/${extraction.id}`;
    const bad = await t.request("POST", path, {
      body: { reviewedOutput: { value: { colour: "red" } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/body\.reviewedOutput\.value\.colour is not a property/);
    const good = await t.request("POST", path, {
      body: { reviewedOutput: { value: { invoice_number: "FIXED-1" } } },
    });
    expect(good.status).toBe(200);
    const corrected = good.body.workflowRun.outputs.find(
      (o: { id: string }) => o.id === extraction.id,
    );
    expect(corrected.output.value.invoice_number).toBe("FIXED-1");
    expect(corrected.output.value.invoice_date).toBe("2025-03-14");
  });
});
