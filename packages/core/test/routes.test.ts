import { describe, expect, test } from "vitest";
import { apiOperations } from "../src/generated/operations.js";
import { createPathResolver, fillTemplate } from "../src/handlers/routes.js";

const resolve = createPathResolver();

describe("createPathResolver", () => {
  test.each([
    ["/workflow_runs", "/workflow_runs", {}],
    ["/workflow_runs/", "/workflow_runs", {}],
    ["/workflow_runs/batch", "/workflow_runs/batch", {}],
    ["/workflow_runs/Batch", "/workflow_runs/batch", {}],
    [
      "/WORKFLOW_RUNS/workflow_run_1",
      "/workflow_runs/{workflowRunId}",
      { workflowRunId: "workflow_run_1" },
    ],
    ["/workflow_runs/batchx", "/workflow_runs/{workflowRunId}", { workflowRunId: "batchx" }],
    [
      "/workflow_runs/batch/cancel",
      "/workflow_runs/{workflowRunId}/cancel",
      { workflowRunId: "batch" },
    ],
    ["/files/upload", "/files/upload", {}],
    ["/files/file_Ab-9", "/files/{id}", { id: "file_Ab-9" }],
    ["/evaluation_set_items/bulk", "/evaluation_set_items/bulk", {}],
    ["/evaluation_set_items/esi_1", "/evaluation_set_items/{id}", { id: "esi_1" }],
    [
      "/processors/dp_1/versions/dpv_2",
      "/processors/{processorId}/versions/{processorVersionId}",
      { processorId: "dp_1", processorVersionId: "dpv_2" },
    ],
    ["/parse/async", "/parse/async", {}],
  ])("resolves %s to %s", (path, template, params) => {
    expect(resolve(path)).toMatchObject({ template, params });
  });

  test.each([
    "/",
    "",
    "//workflow_runs",
    "/workflow_runs//",
    "/workflow_runs/a/b",
    "/workflow_runs/..%2Fprocessors",
    "/workflow_runs/%62atch",
    "/workflow_runs/a.b",
    "/workflow_runs/a%20b",
    "/workflow_runs/a;b",
    "/nothing",
    "/files/upload/x",
  ])("resolves %j to nothing", (path) => {
    expect(resolve(path)).toBeUndefined();
  });

  test("gives every operation on the template found, whatever the method", () => {
    expect(resolve("/workflow_runs/workflow_run_1")?.operations).toEqual([
      { operationId: "getWorkflowRun", method: "GET" },
      { operationId: "updateWorkflowRun", method: "POST" },
      { operationId: "deleteWorkflowRun", method: "DELETE" },
    ]);
  });

  // Generated from the spec: wherever one template has a parameter and another a literal at
  // the same place, the literal's path resolves to the literal's template, never to an id.
  const templates = [...new Set(Object.values(apiOperations).map((op) => op.path))];
  const collisions = templates.flatMap((withParam) =>
    templates
      .filter((withLiteral) => withLiteral !== withParam)
      .map((withLiteral) => {
        const a = withParam.split("/");
        const b = withLiteral.split("/");
        if (a.length !== b.length) return undefined;
        const fits = a.every((s, i) => s === b[i] || s.startsWith("{") || b[i]?.startsWith("{"));
        const collides = a.some((s, i) => s.startsWith("{") && !b[i]?.startsWith("{"));
        if (!fits || !collides) return undefined;
        // The literal template, with any parameter of its own filled with an id.
        const path = b.map((s) => (s.startsWith("{") ? "id_1" : s)).join("/");
        return [withParam, withLiteral, path] as const;
      })
      .filter((c) => c !== undefined),
  );

  test("the spec has such collisions (batch, bulk, upload)", () => {
    expect(collisions.map(([, literal]) => literal)).toEqual(
      expect.arrayContaining([
        "/workflow_runs/batch",
        "/evaluation_set_items/bulk",
        "/files/upload",
      ]),
    );
  });

  test.each(collisions)("%s never takes %s as an id (%s)", (_param, literal, path) => {
    expect(resolve(path)?.template).toBe(literal);
    expect(resolve(path.toUpperCase())?.template).toBe(literal);
  });
});

describe("fillTemplate", () => {
  test("puts the parameters in their places", () => {
    expect(
      fillTemplate("/processors/{processorId}/versions/{processorVersionId}", {
        processorId: "dp_1",
        processorVersionId: "dpv_2",
      }),
    ).toBe("/processors/dp_1/versions/dpv_2");
  });
});
