import { createClient } from "@extendkit/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  invoiceText,
  specCheckingFetch,
  startTestEmulator,
  type TestEmulator,
} from "./helpers/harness.js";

const workflowId = "workflow_invoices";
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

describe("authentication", () => {
  test.each([
    ["no Authorization header", undefined, /Missing Authorization header/],
    ["an unknown bearer token", "Bearer not-the-token", /not valid/],
    ["the token without the Bearer scheme", "extendkit_emulator_token", /not valid/],
    ["another scheme", "Basic ZXh0ZW5kOmtpdA==", /not valid/],
  ])("answers 401 with a JSON error body for %s", async (_name, authorization, message) => {
    const { status, body, headers } = await t.request("GET", "/workflow_runs", {
      headers: { authorization },
    });
    expect(status).toBe(401);
    expect(headers.get("content-type")).toMatch(/^application\/json/);
    expect(body).toMatchObject({ success: false, code: "UNAUTHORIZED", retryable: false });
    expect(body.error).toMatch(message);
  });

  test("refuses a write without a token and creates nothing", async () => {
    const count = async () =>
      (await t.client.GET("/workflow_runs", { params: { query: { maxPageSize: 1000 } } })).data!
        .workflowRuns.length;
    const before = await count();
    const { status } = await t.request("POST", "/workflow_runs", {
      body: { workflowId, rawTexts: ["x"] },
      headers: { authorization: undefined },
    });
    expect(status).toBe(401);
    expect(await count()).toBe(before);
  });
});

describe("the x-extend-api-version header", () => {
  test("is required by default: without it the answer is 400 naming the header", async () => {
    const { status, body } = await t.request("GET", "/workflow_runs", {
      headers: { "x-extend-api-version": undefined },
    });
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, code: "INVALID_REQUEST" });
    expect(body.error).toMatch(/x-extend-api-version/);
  });

  test.each([
    ["a known older version", "2024-12-23"],
    ["a made-up version", "2099-01-01"],
    ["a value that is not a version", "latest"],
    ["an empty value", ""],
  ])("refuses %s with 400", async (_name, version) => {
    const { status, body } = await t.request("GET", "/workflow_runs", {
      headers: { "x-extend-api-version": version },
    });
    expect(status).toBe(400);
    expect(body.error).toMatch(/2025-04-21/);
  });

  describe('with missingVersion: "fallback"', () => {
    let fallback: TestEmulator;
    beforeAll(async () => {
      fallback = await startTestEmulator({ missingVersion: "fallback" });
    });
    afterAll(() => fallback.close());

    test("serves a request without the header and adds a warning to enveloped answers", async () => {
      const created = await fallback.request("POST", "/workflow_runs", {
        body: { workflowId, rawTexts: ["x"] },
        headers: { "x-extend-api-version": undefined },
      });
      expect(created.status).toBe(200);
      expect(created.body.success).toBe(true);
      expect(created.body.warning).toEqual(expect.any(String));
      expect(created.body.warning).toMatch(/x-extend-api-version/);
      expect(created.body.workflowRuns).toHaveLength(1);

      const listed = await fallback.request("GET", "/workflow_runs", {
        headers: { "x-extend-api-version": undefined },
      });
      expect(listed.status).toBe(200);
      expect(listed.body.warning).toEqual(expect.any(String));
      expect(listed.body.workflowRuns.map((r: { id: string }) => r.id)).toContain(
        created.body.workflowRuns[0].id,
      );
    });

    test("adds no warning when the header is sent", async () => {
      const { data } = await fallback.client.GET("/workflow_runs");
      expect(data?.success).toBe(true);
      expect(data).not.toHaveProperty("warning");
    });

    test("still refuses an unsupported version with 400", async () => {
      const { status } = await fallback.request("GET", "/workflow_runs", {
        headers: { "x-extend-api-version": "2024-12-23" },
      });
      expect(status).toBe(400);
    });
  });
});

describe("routing and request bodies", () => {
  test.each([
    ["GET", "/v1/workflow_runs"],
    ["GET", "/nope"],
    ["POST", "/workflow_runs/workflow_run_x/unknown"],
  ])("answers 404 with a JSON error for %s %s, a path outside the API", async (method, path) => {
    // Raw fetch: these paths are not operations of the spec, so the spec-checking
    // helpers would refuse them.
    const response = await fetch(t.emulator.url + path, {
      method,
      headers: {
        authorization: `Bearer ${t.emulator.token}`,
        "x-extend-api-version": "2025-04-21",
      },
    });
    expect(response.status).toBe(404);
    const body = await response.json();
    expect(body).toMatchObject({ success: false, code: "NOT_FOUND" });
    expect(body.error).toContain(path);
    expect(response.headers.get("x-request-id")).toBe(body.requestId);
  });

  test.each([
    ["a truncated JSON object", '{"workflowId": "workflow_invoices", "rawTexts": ['],
    ["plain text", "run the invoices please"],
    ["a single quote JSON-ish body", "{'workflowId': 'workflow_invoices'}"],
  ])("answers 400 to a body that is %s", async (_name, raw) => {
    const { status, body } = await t.request("POST", "/workflow_runs", {
      raw,
      headers: { "content-type": "application/json" },
    });
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, code: "INVALID_REQUEST" });
    expect(body.error).toMatch(/not valid JSON/);
  });

  test("accepts the x-extend-workspace-id header", async () => {
    const client = createClient({
      baseUrl: t.emulator.url,
      token: t.emulator.token,
      workspaceId: "ws_test",
      fetch: specCheckingFetch(),
    });
    const { data, error } = await client.POST("/workflow_runs", {
      body: { workflowId, rawTexts: ["x"] },
    });
    expect(error).toBeUndefined();
    const id = data!.workflowRuns[0]!.id;
    const got = await t.request("GET", `/workflow_runs/${id}`, {
      headers: { "x-extend-workspace-id": "ws_other" },
    });
    expect(got.status).toBe(200);
    expect(got.body.workflowRun.id).toBe(id);
  });
});

describe("the x-request-id header", () => {
  test.each<
    [
      string,
      string,
      string,
      { body?: unknown; headers?: Record<string, string | undefined>; raw?: string },
    ]
  >([
    ["a 400 (invalid query)", "GET", "/workflow_runs?maxPageSize=0", {}],
    ["a 400 (invalid body)", "POST", "/workflow_runs", { body: { workflowId } }],
    [
      "a 400 (missing version)",
      "GET",
      "/workflow_runs",
      { headers: { "x-extend-api-version": undefined } },
    ],
    ["a 401", "GET", "/workflow_runs", { headers: { authorization: "Bearer wrong" } }],
    ["a 404", "GET", "/workflow_runs/workflow_run_nope", {}],
  ])("on %s matches the error body's requestId", async (_name, method, path, init) => {
    const { status, body, headers } = await t.request(method, path, init);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(body.requestId).toMatch(/^req_[A-Za-z0-9_-]+$/);
    expect(headers.get("x-request-id")).toBe(body.requestId);
  });

  test("is on successful answers too, and differs from request to request", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { response } = await t.client.GET("/workflow_runs");
      expect(response.status).toBe(200);
      const id = response.headers.get("x-request-id");
      expect(id).toMatch(/^req_[A-Za-z0-9_-]+$/);
      ids.add(id!);
    }
    expect(ids.size).toBe(3);
  });
});

/** Every string under a key ending in `At` or `Time`, with its path. */
function timestamps(value: unknown, path = "$"): Array<[string, string]> {
  if (Array.isArray(value)) return value.flatMap((v, i) => timestamps(v, `${path}[${i}]`));
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, v]) =>
    typeof v === "string" && /(At|Time)$/.test(key)
      ? [[`${path}.${key}`, v] as [string, string]]
      : timestamps(v, `${path}.${key}`),
  );
}

function expectRfc3339Utc(found: Array<[string, string]>) {
  for (const [path, stamp] of found) {
    expect({
      path,
      stamp,
      ok: RFC3339_UTC.test(stamp) && !Number.isNaN(Date.parse(stamp)),
    }).toEqual({
      path,
      stamp,
      ok: true,
    });
  }
}

const ID_SUFFIX = "[A-Za-z0-9_-]+$";
const idOf = (prefix: string) => new RegExp(`^${prefix}${ID_SUFFIX}`);

describe("ids and timestamps (fidelity check 38)", () => {
  test("a workflow run, its outputs, step runs and files keep their id prefixes and RFC 3339 UTC timestamps", async () => {
    const form = new FormData();
    form.append("file", new Blob([invoiceText(9, 300)], { type: "text/plain" }), "check-38.txt");
    const { data: uploaded } = await t.client.POST("/files/upload", { body: form as never });
    const fileId = uploaded!.file.id;
    const { data: created } = await t.client.POST("/workflow_runs", {
      body: { workflowId, files: [{ fileId }] },
    });
    const runId = created!.workflowRuns[0]!.id;
    await t.emulator.idle();
    const { data } = await t.client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: runId } },
    });
    const run = data!.workflowRun;
    expect(run.status).toBe("PROCESSED");

    expect(run.id).toMatch(idOf("workflow_run_"));
    expect(run.workflow.id).toMatch(idOf("workflow_"));
    expect(run.files.map((f) => f.id)).toEqual([fileId]);
    expect(fileId).toMatch(idOf("file_"));
    expect(run.outputs).toHaveLength(2);
    for (const output of run.outputs) {
      expect(output.id).toMatch(idOf("dpr_"));
      expect(output.processorId).toMatch(idOf("dp_"));
      expect(output.processorVersionId).toMatch(idOf("dpv_"));
      for (const file of output.files) expect(file.id).toMatch(idOf("file_"));
    }
    expect(run.stepRuns).toHaveLength(1);
    expect(run.stepRuns[0]?.id).toMatch(idOf("workflow_step_run_"));
    expect(run.stepRuns[0]?.step.id).toMatch(idOf("step_"));

    const runStamps = timestamps(run);
    expect(runStamps.map(([path]) => path)).toEqual(
      expect.arrayContaining([
        "$.initialRunAt",
        "$.startTime",
        "$.endTime",
        "$.files[0].createdAt",
        "$.files[0].updatedAt",
      ]),
    );
    expectRfc3339Utc(runStamps);

    // The same ids, and well-formed timestamps, on the outputs and files fetched directly.
    for (const output of run.outputs) {
      const { data: direct } = await t.client.GET("/processor_runs/{id}", {
        params: { path: { id: output.id } },
      });
      expect(direct?.processorRun.id).toBe(output.id);
      expect(direct?.processorRun.processorId).toBe(output.processorId);
      expectRfc3339Utc(timestamps(direct));
    }
    const { data: file } = await t.client.GET("/files/{id}", { params: { path: { id: fileId } } });
    expect(file?.file.id).toBe(fileId);
    const fileStamps = timestamps(file);
    expect(fileStamps.map(([path]) => path)).toEqual(
      expect.arrayContaining(["$.file.createdAt", "$.file.updatedAt"]),
    );
    expectRfc3339Utc(fileStamps);

    // And on the run's summary in the list.
    const { data: listed } = await t.client.GET("/workflow_runs", {
      params: { query: { maxPageSize: 1000 } },
    });
    const summary = listed!.workflowRuns.find((r) => r.id === runId)!;
    expect(summary.workflowVersionId).toMatch(idOf("workflow_version_"));
    const summaryStamps = timestamps(summary);
    expect(summaryStamps.length).toBeGreaterThanOrEqual(5);
    expectRfc3339Utc(summaryStamps);
  });

  test("a batch id keeps the batch_ prefix and its runs keep theirs", async () => {
    const { data } = await t.client.POST("/workflow_runs/batch", {
      body: { workflowId, inputs: [{ rawText: "x" }] },
    });
    expect(data?.batchId).toMatch(idOf("batch_"));
    const { data: listed } = await t.client.GET("/workflow_runs", {
      params: { query: { batchId: data!.batchId } },
    });
    expect(listed?.workflowRuns.map((r) => r.id)).toEqual([
      expect.stringMatching(idOf("workflow_run_")),
    ]);
  });
});
