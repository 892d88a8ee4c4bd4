import { describe, expectTypeOf, test } from "vitest";
import {
  createClient,
  type ErrorCode,
  type ErrorResponse,
  type KnownErrorCode,
  paginate,
  type WorkflowRun,
  type WorkflowStatus,
} from "../src/index.js";

const client = createClient({ token: "sk_test" });

describe("generated types", () => {
  test("reject a POST /workflow_runs body without workflowId", () => {
    // @ts-expect-error workflowId is required by RunWorkflowRequest
    void client.POST("/workflow_runs", { body: { rawTexts: ["a"] } });
    // The same body with workflowId compiles.
    void client.POST("/workflow_runs", { body: { workflowId: "workflow_1", rawTexts: ["a"] } });
  });

  test("reject a POST /workflow_runs body with neither files nor rawTexts", () => {
    // @ts-expect-error one of files and rawTexts is required
    void client.POST("/workflow_runs", { body: { workflowId: "workflow_1" } });
  });

  test("reject a path the API does not have", () => {
    // @ts-expect-error there is no /workflow_run (singular) path
    void client.GET("/workflow_run", {});
  });

  test("reject a wrong parameter type", () => {
    void client.GET("/workflow_runs", {
      // @ts-expect-error maxPageSize is an integer, not a string
      params: { query: { maxPageSize: "10" } },
    });
  });

  test("type workflowRuns[0].status as the WorkflowStatus union", async () => {
    const { data, error } = await client.POST("/workflow_runs", {
      body: { workflowId: "workflow_1", rawTexts: ["a"] },
    });
    if (data) {
      const run = data.workflowRuns[0];
      expectTypeOf(run).not.toBeAny();
      expectTypeOf(run!.status).toEqualTypeOf<WorkflowStatus>();
      expectTypeOf(run!.status).toEqualTypeOf<WorkflowRun["status"]>();
      expectTypeOf<WorkflowStatus>().toEqualTypeOf<
        | "PENDING"
        | "PROCESSING"
        | "NEEDS_REVIEW"
        | "REJECTED"
        | "PROCESSED"
        | "FAILED"
        | "CANCELLED"
        | "CANCELLING"
      >();
    } else {
      expectTypeOf(error).toEqualTypeOf<ErrorResponse>();
    }
  });

  test("type ErrorCode as the known codes or any other string", () => {
    expectTypeOf<"NOT_FOUND">().toExtend<KnownErrorCode>();
    expectTypeOf<KnownErrorCode>().toExtend<ErrorCode>();
    expectTypeOf<"A_CODE_ADDED_LATER">().toExtend<ErrorCode>();
    expectTypeOf<"A_CODE_ADDED_LATER">().not.toExtend<KnownErrorCode>();
  });

  test("type a cancelled run's status as an optional open string", async () => {
    const { data } = await client.POST("/workflow_runs/{workflowRunId}/cancel", {
      params: { path: { workflowRunId: "w" } },
    });
    if (data) {
      expectTypeOf(data.workflowRun.status).toEqualTypeOf<string | undefined>();
      expectTypeOf(data.workflowRun.id).toEqualTypeOf<string>();
    }
  });

  test("type object as optional on POST /parse answers", async () => {
    const { data } = await client.POST("/parse", { body: { file: { fileId: "file_1" } } });
    if (data) {
      expectTypeOf(data.object).toEqualTypeOf<"parser_run" | undefined>();
      expectTypeOf(data.chunks).toBeArray();
    }
  });

  test("narrow the parser run union on its object discriminator", async () => {
    const { data } = await client.GET("/parser_runs/{id}", { params: { path: { id: "p" } } });
    const run = data?.parserRun;
    if (run?.object === "parser_run") {
      expectTypeOf(run.chunks[0]!.blocks).toBeArray();
    }
  });
});

describe("the throwing client", () => {
  const throwing = createClient({ token: "sk_test", throwOnError: true });

  test("resolves to data that is never undefined", async () => {
    const { data } = await throwing.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: "w" } },
    });
    expectTypeOf(data.workflowRun.status).toEqualTypeOf<WorkflowStatus>();
  });

  test("still rejects a wrong body", () => {
    // @ts-expect-error workflowId is required
    void throwing.POST("/workflow_runs", { body: { rawTexts: ["a"] } });
  });
});

describe("paginate", () => {
  test("yields the list endpoint's item type, and needs path params only where the path has them", async () => {
    for await (const run of paginate(client, "/workflow_runs", {
      query: { status: "PROCESSED" },
    })) {
      expectTypeOf(run.workflowId).toEqualTypeOf<string>();
    }
    for await (const item of paginate(client, "/evaluation_sets/{id}/items", {
      path: { id: "ev_1" },
    })) {
      expectTypeOf(item.evaluationSetId).toEqualTypeOf<string>();
    }
    // @ts-expect-error the items list needs the set's id
    void paginate(client, "/evaluation_sets/{id}/items");
    // @ts-expect-error not a list endpoint
    void paginate(client, "/workflow_runs/{workflowRunId}");
  });
});
