import { describe, expect, test } from "vitest";
import {
  apiOperations,
  METHODS,
  type PathItem,
  schemaValidator,
  spec,
  specText,
  structuralErrors,
} from "./load-spec.js";

/** The 44 endpoints of API 2025-04-21 (reference brief §2), by group. */
const ENDPOINTS = {
  Processor: [
    "POST /processor_runs",
    "GET /processor_runs/{id}",
    "GET /processor_runs",
    "POST /processor_runs/{id}/cancel",
    "DELETE /processor_runs/{id}",
    "GET /batch_processor_runs/{id}",
    "GET /processors",
    "POST /processors",
    "POST /processors/{id}",
    "POST /processors/{id}/publish",
    "GET /processors/{processorId}/versions/{processorVersionId}",
    "GET /processors/{id}/versions",
  ],
  Parse: ["POST /parse", "POST /parse/async", "GET /parser_runs/{id}", "DELETE /parser_runs/{id}"],
  Workflow: [
    "POST /workflow_runs",
    "GET /workflow_runs/{workflowRunId}",
    "GET /workflow_runs",
    "POST /workflow_runs/{workflowRunId}",
    "POST /workflow_runs/{workflowRunId}/cancel",
    "DELETE /workflow_runs/{workflowRunId}",
    "POST /workflows",
    "POST /workflow_runs/batch",
    "POST /workflow_runs/{workflowRunId}/outputs/{outputId}",
  ],
  File: [
    "POST /files/upload",
    "GET /files/{id}",
    "DELETE /files/{id}",
    "GET /files",
    "POST /files",
  ],
  Edit: [
    "POST /edit",
    "POST /edit/async",
    "POST /edit_schemas/generate",
    "GET /edit_runs/{id}",
    "DELETE /edit_runs/{id}",
    "GET /edit_templates/{id}",
  ],
  "Evaluation Set": [
    "GET /evaluation_sets/{id}",
    "GET /evaluation_sets",
    "POST /evaluation_sets",
    "GET /evaluation_sets/{id}/items",
    "POST /evaluation_set_items",
    "POST /evaluation_set_items/{id}",
    "DELETE /evaluation_set_items/{id}",
    "POST /evaluation_set_items/bulk",
  ],
} as const;

/** Every webhook event type of 2025-04-21 (reference brief §4.2). */
const EVENT_TYPES = [
  "workflow_run.completed",
  "workflow_run.failed",
  "workflow_run.needs_review",
  "workflow_run.rejected",
  "workflow_run.step_run.processed",
  "processor_run.processed",
  "processor_run.failed",
  "parser_run.processed",
  "parser_run.failed",
  "workflow.created",
  "workflow.deployed",
  "workflow.deleted",
  "processor.created",
  "processor.updated",
  "processor.deleted",
  "processor.draft.updated",
  "processor.version.published",
];

const operations = apiOperations();
const byKey = new Map(operations);

describe("the 44 endpoints", () => {
  test("the spec holds exactly the 44 (method, path) pairs of API 2025-04-21", () => {
    const expected = Object.values(ENDPOINTS).flat().sort();
    expect(expected).toHaveLength(44);
    expect(operations.map(([key]) => key).sort()).toEqual(expected);
  });

  test.each(
    Object.entries(ENDPOINTS).flatMap(([tag, keys]) => keys.map((key) => [key, tag] as const)),
  )("%s is tagged %s", (key, tag) => {
    expect(byKey.get(key)?.tags).toEqual([tag]);
  });

  test("operationIds are unique, camelCase and stable", () => {
    const ids = operations.map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9]+$/);
    // A sample of ids that user code and our adapters refer to: renaming them is a breaking change.
    expect(byKey.get("POST /workflow_runs")?.operationId).toBe("runWorkflow");
    expect(byKey.get("GET /workflow_runs/{workflowRunId}")?.operationId).toBe("getWorkflowRun");
    expect(byKey.get("POST /files/upload")?.operationId).toBe("uploadFile");
    expect(byKey.get("GET /files/{id}")?.operationId).toBe("getFile");
    expect(byKey.get("POST /workflow_runs/batch")?.operationId).toBe("batchRunWorkflow");
  });

  test.each(operations)(
    "%s declares x-extend-retry-safe, a summary and a description",
    (_key, op) => {
      expect(typeof op["x-extend-retry-safe"]).toBe("boolean");
      expect(op.summary).toBeTruthy();
      expect(op.description).toBeTruthy();
    },
  );

  test("operations that create runs, files or other resources are not retry-safe; reads are", () => {
    const creates = [
      "POST /processor_runs",
      "POST /processors",
      "POST /processors/{id}/publish",
      "POST /parse",
      "POST /parse/async",
      "POST /workflow_runs",
      "POST /workflow_runs/batch",
      "POST /workflows",
      "POST /files/upload",
      "POST /files",
      "POST /edit",
      "POST /edit/async",
      "POST /evaluation_sets",
      "POST /evaluation_set_items",
      "POST /evaluation_set_items/bulk",
    ];
    for (const [key, op] of operations) {
      const expected = !creates.includes(key);
      expect([key, op["x-extend-retry-safe"]]).toEqual([key, expected]);
    }
  });

  test.each(operations)("%s declares 400, 401, 429 and 500 error answers", (_key, op) => {
    for (const status of ["400", "401", "429", "500"]) expect(op.responses).toHaveProperty(status);
    expect(Object.keys(op.responses).filter((s) => s.startsWith("2"))).toEqual(["200"]);
  });

  test("every endpoint that takes an id in its path can answer 404", () => {
    for (const [key, op] of operations) {
      if (key.includes("{")) expect([key, "404" in op.responses]).toEqual([key, true]);
    }
  });

  test("only parse and edit can answer 402 and 422", () => {
    const withProcessingErrors = operations
      .filter(([, op]) => "422" in op.responses || "402" in op.responses)
      .map(([key]) => key)
      .sort();
    expect(withProcessingErrors).toEqual([
      "POST /edit",
      "POST /edit_schemas/generate",
      "POST /parse",
    ]);
  });

  test("every path item takes the version and workspace headers", () => {
    for (const [route, item] of Object.entries(spec.paths)) {
      const refs = (item.parameters ?? []).map((p) => p.$ref);
      expect([route, refs.slice(0, 2)]).toEqual([
        route,
        ["#/components/parameters/ApiVersion", "#/components/parameters/WorkspaceId"],
      ]);
    }
  });

  test("every path template parameter is declared on its path item", () => {
    const declared = (item: PathItem) =>
      (item.parameters ?? []).map((p) => {
        if (p.$ref) {
          const name = p.$ref.split("/").pop() as string;
          return (spec.components.parameters?.[name] as { name?: string } | undefined)?.name;
        }
        return p.name;
      });
    for (const [route, item] of Object.entries(spec.paths)) {
      const inTemplate = [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const name of inTemplate)
        expect([route, declared(item)]).toEqual([route, expect.arrayContaining([name])]);
    }
  });
});

describe("the spec document", () => {
  test("is OpenAPI 3.1 for API version 2025-04-21", () => {
    expect(spec.openapi).toMatch(/^3\.1\.\d+$/);
    expect(spec.info.version).toBe("2025-04-21");
  });

  test("passes OpenAPI 3.1 structural validation with no errors", async () => {
    expect(await structuralErrors(specText)).toEqual([]);
  });

  test("structural validation catches a broken document (the check can fail)", async () => {
    const broken = specText
      .replace("operationId: runWorkflow", "operationId: getWorkflowRun")
      .replace(
        '$ref: "#/components/schemas/WorkflowRunResponse"',
        '$ref: "#/components/schemas/Nope"',
      )
      .replace("maxItems: 1000", "maxItems: lots");
    const errors = await structuralErrors(broken);
    expect(errors.some((e) => e.startsWith("operation-operationId-unique"))).toBe(true);
    expect(errors.some((e) => e.startsWith("no-unresolved-refs"))).toBe(true);
    expect(errors.some((e) => e.startsWith("struct"))).toBe(true);
  });

  test("every schema compiles as JSON Schema 2020-12, so the emulator can validate with it", () => {
    const schema = schemaValidator();
    for (const name of Object.keys(spec.components.schemas)) {
      expect(() => schema(name), name).not.toThrow();
    }
    // Compiling every schema is CPU-bound: about 1 s alone, several times that when CI runs
    // the other suites (and a Next.js build) on the same two cores.
  }, 60_000);

  test("every tag used is declared with a description", () => {
    const declared = new Set(spec.tags.map((t) => t.name));
    const used = new Set(
      [...Object.values(spec.paths), ...Object.values(spec.webhooks)].flatMap((item) =>
        METHODS.flatMap((m) => item[m]?.tags ?? []),
      ),
    );
    for (const tag of used) expect(declared).toContain(tag);
  });
});

describe("webhooks", () => {
  test("there is one webhook per event type of 2025-04-21, and the enum lists them all", () => {
    expect(Object.keys(spec.webhooks).sort()).toEqual([...EVENT_TYPES].sort());
    expect([...(spec.components.schemas.WebhookEventType?.enum ?? [])].sort()).toEqual(
      [...EVENT_TYPES].sort(),
    );
  });

  const validate = schemaValidator();
  const event = validate("WebhookEvent");
  const signed = validate("SignedUrlWebhookEvent");
  const run = {
    object: "workflow_run",
    id: "workflow_run_1",
    name: "a.pdf",
    url: "https://dashboard.extend.ai/workflows/workflow_1?workflowRunId=workflow_run_1",
    status: "PROCESSED",
    metadata: {},
    files: [],
    initialRunAt: "2025-04-28T17:01:39.285Z",
    reviewed: false,
    outputs: [],
    stepRuns: [],
    workflow: { object: "workflow", id: "workflow_1", version: "1", name: "Invoices" },
  };

  test("a workflow_run.completed delivery with a full WorkflowRun is a WebhookEvent", () => {
    expect(event({ eventId: "event_1", eventType: "workflow_run.completed", payload: run })).toBe(
      true,
    );
  });

  test("an event type paired with the wrong payload is not", () => {
    expect(event({ eventId: "event_1", eventType: "processor.created", payload: run })).toBe(false);
  });

  test("the signed-URL variant carries { data: url } as its payload", () => {
    const delivery = {
      eventId: "event_2",
      eventType: "workflow_run.completed",
      payload: { data: "https://files.extend.ai/signed/abc" },
    };
    expect(signed(delivery)).toBe(true);
    expect(event(delivery)).toBe(false);
  });
});
