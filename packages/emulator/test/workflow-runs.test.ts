import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { invoiceText, startTestEmulator, type TestEmulator } from "./helpers/harness.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

const workflowId = "workflow_invoices";

const upload = (name: string, text: string) => t.upload(name, text, "text/plain");

describe("POST /workflow_runs", () => {
  test("creates one PENDING run per file input, with the run's fields of the brief", async () => {
    const a = await upload("a.txt", invoiceText(1));
    const b = await upload("b.txt", invoiceText(2));
    const { data, error } = await t.client.POST("/workflow_runs", {
      body: { workflowId, files: [{ fileId: a.id }, { fileId: b.id }] },
    });
    expect(error).toBeUndefined();
    expect(data?.success).toBe(true);
    expect(data?.workflowRuns).toHaveLength(2);
    for (const [i, run] of (data?.workflowRuns ?? []).entries()) {
      expect(run.object).toBe("workflow_run");
      expect(run.id).toMatch(/^workflow_run_[A-Za-z0-9_-]{20}$/);
      expect(run.status).toBe("PENDING");
      expect(run.reviewed).toBe(false);
      expect(run.outputs).toEqual([]);
      expect(run.stepRuns).toEqual([]);
      expect(run.files.map((f) => f.id)).toEqual([[a.id, b.id][i]]);
      expect(new Date(run.initialRunAt).toISOString()).toBe(run.initialRunAt);
      expect(run.workflow).toEqual({
        object: "workflow",
        id: workflowId,
        version: "1",
        name: "Invoice processing",
      });
      expect(run.name).toBe(["a.txt", "b.txt"][i]);
    }
  });

  test("turns each raw text into a run with one TXT file", async () => {
    const { data } = await t.client.POST("/workflow_runs", {
      body: { workflowId, rawTexts: ["a", "b"] },
    });
    expect(data?.workflowRuns).toHaveLength(2);
    expect(data?.workflowRuns.map((r) => r.files.map((f) => f.type))).toEqual([["TXT"], ["TXT"]]);
  });

  test("runs the seeded steps to PROCESSED: classification, extraction and rule results", async () => {
    const { data } = await t.client.POST("/workflow_runs", {
      body: { workflowId, rawTexts: [invoiceText(7, 250)] },
    });
    const id = data!.workflowRuns[0]!.id;
    await t.emulator.idle();
    const { data: got } = await t.client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: id } },
    });
    const run = got!.workflowRun;
    expect(run.status).toBe("PROCESSED");
    expect(run.startTime! >= run.initialRunAt).toBe(true);
    expect(run.endTime! >= run.startTime!).toBe(true);
    expect(run.outputs.map((o) => o.type)).toEqual(["CLASSIFY", "EXTRACT"]);
    expect(run.outputs[0]?.output).toMatchObject({ type: "invoice" });
    expect(run.outputs[1]?.output).toMatchObject({
      value: {
        invoice_number: "INV-0007",
        invoice_date: "2025-03-14",
        total: { amount: 250, iso_4217_currency_code: "USD" },
      },
    });
    expect(run.outputs.every((o) => o.id.startsWith("dpr_"))).toBe(true);
    expect(run.stepRuns[0]?.output?.rules?.map((r) => r.valid)).toEqual([true, true]);
  });

  test.each([
    ["no files and no raw texts", { workflowId }, /must include one of `files` or `rawTexts`/],
    [
      "51 files",
      { workflowId, files: Array.from({ length: 51 }, (_, i) => ({ fileId: `file_${i}` })) },
      /body\.files must NOT have more than 50 items/,
    ],
    ["priority 0", { workflowId, rawTexts: ["x"], priority: 0 }, /body\.priority must be >= 1/],
    [
      "priority 101",
      { workflowId, rawTexts: ["x"], priority: 101 },
      /body\.priority must be <= 100/,
    ],
    [
      "30 files and 21 raw texts",
      {
        workflowId,
        files: Array.from({ length: 30 }, () => ({ fileId: "file_x" })),
        rawTexts: Array.from({ length: 21 }, () => "t"),
      },
      /51 inputs together; at most 50/,
    ],
  ])("refuses %s with 400 naming the problem", async (_name, body, message) => {
    const { status, body: error } = await t.request("POST", "/workflow_runs", { body });
    expect(status).toBe(400);
    expect(error).toMatchObject({ success: false, code: "INVALID_REQUEST", retryable: false });
    expect(error.error).toMatch(message);
  });

  test("answers 404 for an unknown workflow or file", async () => {
    const unknownWorkflow = await t.request("POST", "/workflow_runs", {
      body: { workflowId: "workflow_nope", rawTexts: ["x"] },
    });
    expect(unknownWorkflow.status).toBe(404);
    const unknownFile = await t.request("POST", "/workflow_runs", {
      body: { workflowId, files: [{ fileId: "file_nope" }] },
    });
    expect(unknownFile.status).toBe(404);
    expect(unknownFile.body.error).toContain("file_nope");
  });

  test("strips characters outside [A-Za-z0-9_-] from usage tags", async () => {
    const { data } = await t.client.POST("/workflow_runs", {
      body: {
        workflowId,
        rawTexts: ["x"],
        metadata: { "extend:usage_tags": ["prod env!", "team-eng"], customer: "c1" },
      },
    });
    expect(data?.workflowRuns[0]?.metadata).toEqual({
      "extend:usage_tags": ["prodenv", "team-eng"],
      customer: "c1",
    });
  });
});

describe("GET /workflow_runs/{id}", () => {
  test("answers 404 for an unknown run", async () => {
    const { status, body } = await t.request("GET", "/workflow_runs/workflow_run_doesnotexist");
    expect(status).toBe(404);
    expect(body.error).toContain("workflow_run_doesnotexist");
  });
});

describe("POST /workflow_runs/{id} (update)", () => {
  test("merges metadata shallowly, incoming keys winning, and renames", async () => {
    const { data } = await t.client.POST("/workflow_runs", {
      body: { workflowId, rawTexts: ["x"], metadata: { a: 1, b: 2 } },
    });
    const id = data!.workflowRuns[0]!.id;
    const { data: updated } = await t.client.POST("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: id } },
      body: { name: "renamed", metadata: { b: 3, c: 4 } },
    });
    expect(updated?.workflowRun.metadata).toEqual({ a: 1, b: 3, c: 4 });
    expect(updated?.workflowRun.name).toBe("renamed");
  });

  test("answers 404 for an unknown run", async () => {
    const { status } = await t.request("POST", "/workflow_runs/workflow_run_nope", {
      body: { name: "x" },
    });
    expect(status).toBe(404);
  });
});

describe("DELETE /workflow_runs/{id}", () => {
  test("deletes the run: a later GET and a second DELETE answer 404", async () => {
    const { data } = await t.client.POST("/workflow_runs", {
      body: { workflowId, rawTexts: ["x"] },
    });
    const id = data!.workflowRuns[0]!.id;
    const first = await t.request("DELETE", `/workflow_runs/${id}`);
    expect(first).toMatchObject({ status: 200, body: { success: true, workflowRunId: id } });
    expect(first.body.message).toEqual(expect.any(String));
    expect((await t.request("GET", `/workflow_runs/${id}`)).status).toBe(404);
    expect((await t.request("DELETE", `/workflow_runs/${id}`)).status).toBe(404);
  });
});

describe("POST /workflows", () => {
  test("creates a workflow at version draft, which runs with no steps to PROCESSED", async () => {
    const { data } = await t.client.POST("/workflows", { body: { name: "Empty" } });
    expect(data?.workflow).toMatchObject({ object: "workflow", version: "draft", name: "Empty" });
    expect(data?.workflow.id).toMatch(/^workflow_/);
    const { data: runs } = await t.client.POST("/workflow_runs", {
      body: { workflowId: data!.workflow.id, rawTexts: ["x"] },
    });
    await t.emulator.idle();
    const { data: got } = await t.client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: runs!.workflowRuns[0]!.id } },
    });
    expect(got?.workflowRun.status).toBe("PROCESSED");
    expect(got?.workflowRun.outputs).toEqual([]);
  });

  test("refuses a missing name with 400", async () => {
    const { status, body } = await t.request("POST", "/workflows", { body: {} });
    expect(status).toBe(400);
    expect(body.error).toMatch(/body\.name is required/);
  });
});

describe("files[].outputs overrides", () => {
  test("a provided classification replaces the processor's and is stored as a complete output", async () => {
    const file = await upload("override.txt", invoiceText(9));
    const { data } = await t.client.POST("/workflow_runs", {
      body: {
        workflowId,
        files: [
          {
            fileId: file.id,
            outputs: [
              {
                processorId: "dp_document_classifier",
                output: { id: "contract", type: "contract" },
              },
            ],
          },
        ],
      },
    });
    await t.emulator.idle();
    const { data: got } = await t.client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: data!.workflowRuns[0]!.id } },
    });
    expect(got?.workflowRun.outputs[0]?.output).toEqual({
      id: "contract",
      type: "contract",
      confidence: 1,
      insights: [],
    });
  });

  test.each([
    [
      "an output that does not fit the processor's type",
      { processorId: "dp_document_classifier", output: { value: { a: 1 } } },
      400,
    ],
    ["an unknown processor", { processorId: "dp_nope", output: { id: "x", type: "x" } }, 404],
  ])("refuses %s before storing anything", async (_name, override, status) => {
    const before = (await t.client.GET("/files", { params: { query: { maxPageSize: 1000 } } }))
      .data!.files.length;
    const file = await upload("o.txt", "x");
    const { status: got } = await t.request("POST", "/workflow_runs", {
      body: { workflowId, files: [{ fileId: file.id, outputs: [override] }], rawTexts: ["y"] },
    });
    expect(got).toBe(status);
    const after = (await t.client.GET("/files", { params: { query: { maxPageSize: 1000 } } })).data!
      .files.length;
    expect(after).toBe(before + 1); // only the upload; the raw text was never stored
  });
});
