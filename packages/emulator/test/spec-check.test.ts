import { describe, expect, test } from "vitest";
import { responseProblems } from "./helpers/spec.js";

// The suite checks every emulator answer against the spec; this shows the check bites.
describe("responseProblems", () => {
  test("accepts an answer that follows the spec", () => {
    const body = { success: true, workflowRunId: "workflow_run_1", message: "deleted" };
    expect(responseProblems("DELETE", "/workflow_runs/workflow_run_1", 200, body)).toEqual([]);
  });

  test("reports a body that lacks a required field", () => {
    const problems = responseProblems("DELETE", "/workflow_runs/workflow_run_1", 200, {
      success: true,
    });
    expect(problems.join("\n")).toMatch(/must have required property 'workflowRunId'/);
  });

  test("reports a status the operation does not declare", () => {
    expect(responseProblems("GET", "/files", 404, {})).toEqual([
      "listFiles answered 404, which the spec does not declare for it",
    ]);
  });

  test("reports a wrong enum value deep in a body", () => {
    const body = {
      success: true,
      workflowRuns: [
        {
          id: "w",
          status: "DONE",
          workflowId: "x",
          workflowName: "n",
          workflowVersionId: "v",
          createdAt: "2025-01-01T00:00:00Z",
          updatedAt: "2025-01-01T00:00:00Z",
        },
      ],
    };
    expect(responseProblems("GET", "/workflow_runs", 200, body).join("\n")).toMatch(
      /\/workflowRuns\/0\/status must be equal to one of the allowed values/,
    );
  });

  test("routes literal paths before templated ones", () => {
    expect(
      responseProblems("POST", "/workflow_runs/batch", 200, { success: true, batchId: "batch_1" }),
    ).toEqual([]);
  });
});
