import { describe, expect, test } from "vitest";
import { schemaValidator } from "./load-spec.js";

// Response schemas must accept whatever the vendor's own client for 2025-04-21
// (extend-ai@0.0.12) accepts: a strict client validating answers against this spec must not
// refuse a real one. Each row: [schema, case, value, valid].
const schema = schemaValidator();

const workflowRun = {
  object: "workflow_run",
  id: "workflow_run_1",
  name: "a.pdf",
  url: "https://dashboard.extend.ai/workflows/workflow_1?workflowRunId=workflow_run_1",
  metadata: {},
  files: [],
  initialRunAt: "2025-04-28T17:01:39.285Z",
  reviewed: false,
  outputs: [],
  stepRuns: [],
  workflow: { object: "workflow", id: "workflow_1", version: "1", name: "Invoices" },
};
const parserRun = {
  id: "parser_run_1",
  fileId: "file_1",
  chunks: [],
  status: "PROCESSED",
  metrics: { processingTimeMs: 12, pageCount: 1 },
  config: {},
};
const stepRun = {
  object: "workflow_step_run",
  id: "workflow_step_run_1",
  status: "PROCESSED",
  step: { object: "workflow_step", id: "step_1", name: "Check totals", type: "RULE_VALIDATION" },
  output: { rules: [{ name: "total", valid: true }] },
};
const block = (details: unknown) => ({
  object: "block",
  id: "b1",
  type: "text",
  content: "Hello",
  details,
  metadata: {},
  polygon: [],
  boundingBox: {},
});

const cases: Array<[string, string, unknown, boolean]> = [
  // ErrorCode: open string (ExtendError.code: string).
  ["ErrorCode", "a known code", "NOT_FOUND", true],
  ["ErrorCode", "a code this document does not list", "QUOTA_EXHAUSTED", true],
  ["ErrorCode", "a number", 404, false],
  ["KnownErrorCode", "a code this document does not list", "QUOTA_EXHAUSTED", false],
  [
    "ExtendError",
    "a 422 body with an unlisted code",
    { code: "NEW_CODE", message: "m", requestId: "req_1", retryable: false },
    true,
  ],
  // ErrorResponse: Error_ { success?: boolean; error?: string }.
  ["ErrorResponse", "an empty body", {}, true],
  ["ErrorResponse", "the newer shape alone", { code: "UNAUTHORIZED", message: "no key" }, true],
  ["ErrorResponse", "a classic body", { success: false, error: "Invalid API key" }, true],
  // Block details: EmptyBlockDetails = Record<string, unknown>.
  ["Block", "a text block with empty details", block({}), true],
  ["Block", "details of a block type not described here", block({ type: "x", level: 2 }), true],
  ["Block", "details that are not an object", block("table"), false],
  // ParserRun: no `object` in the vendor's ParserRun (POST /parse answers).
  ["ParserRun", "a POST /parse answer without object", parserRun, true],
  ["ParserRun", "with object", { ...parserRun, object: "parser_run" }, true],
  ["ParserRun", "with the wrong object", { ...parserRun, object: "parser_run_status" }, false],
  [
    "ParserRunStatus",
    "a POST /parse/async answer without object",
    { id: "parser_run_1", status: "PROCESSING" },
    true,
  ],
  // GET /parser_runs/{id}: the vendor's union requires `object` on both members.
  [
    "ParserRunResponse",
    "a full run with object",
    { success: true, parserRun: { ...parserRun, object: "parser_run" } },
    true,
  ],
  [
    "ParserRunResponse",
    "a status with object",
    {
      success: true,
      parserRun: { object: "parser_run_status", id: "parser_run_1", status: "PROCESSING" },
    },
    true,
  ],
  ["ParserRunResponse", "a full run without object", { success: true, parserRun }, false],
  // Cancel: WorkflowRunCancelResponseWorkflowRun.status?: string.
  [
    "CancelWorkflowRunResponse",
    "status CANCELLING",
    { success: true, workflowRun: { ...workflowRun, status: "CANCELLING" } },
    true,
  ],
  [
    "CancelWorkflowRunResponse",
    "a status this document does not list",
    { success: true, workflowRun: { ...workflowRun, status: "CANCEL_REQUESTED" } },
    true,
  ],
  ["CancelWorkflowRunResponse", "no status", { success: true, workflowRun: workflowRun }, true],
  [
    "CancelWorkflowRunResponse",
    "a run without its id",
    { success: true, workflowRun: { ...workflowRun, id: undefined, status: "CANCELLED" } },
    false,
  ],
  // Everywhere else a workflow run's status stays the closed WorkflowStatus, and required.
  ["WorkflowRun", "status PROCESSED", { ...workflowRun, status: "PROCESSED" }, true],
  ["WorkflowRun", "an unlisted status", { ...workflowRun, status: "CANCEL_REQUESTED" }, false],
  ["WorkflowRun", "no status", workflowRun, false],
  // workflow_run.step_run.processed carries a StepRun (see the webhook's description).
  [
    "WebhookEvent",
    "a step_run.processed delivery with a StepRun",
    { eventId: "event_1", eventType: "workflow_run.step_run.processed", payload: stepRun },
    true,
  ],
  [
    "WebhookEvent",
    "a step_run.processed delivery with a WorkflowRun",
    {
      eventId: "event_1",
      eventType: "workflow_run.step_run.processed",
      payload: { ...workflowRun, status: "PROCESSING" },
    },
    false,
  ],
  [
    "WebhookEvent",
    "a parser_run.processed delivery without object",
    {
      eventId: "event_1",
      eventType: "parser_run.processed",
      payload: { id: "parser_run_1", status: "PROCESSED" },
    },
    true,
  ],
];

describe("response schemas are as lenient as the vendor's client", () => {
  test.each(cases)("%s: %s → valid %s", (name, _case, value, valid) => {
    const validate = schema(name);
    // `undefined` stands for a missing property.
    expect(validate(JSON.parse(JSON.stringify(value)))).toBe(valid);
  });
});
