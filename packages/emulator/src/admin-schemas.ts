import { schemaChecker } from "./validation.js";

// The admin API and seed documents are checked as strictly as the public API: a wrong
// type is a 400 naming the field, never a 500 now or a broken run later.

const id = { type: "string", minLength: 1 };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const rule = {
  type: "object",
  required: ["name", "field", "check"],
  properties: {
    name: { type: "string", minLength: 1 },
    field: { type: "string", minLength: 1 },
    check: { enum: ["present", "positive", "equals", "matches"] },
    value: {},
  },
  additionalProperties: false,
};

const step = {
  type: "object",
  required: ["type"],
  properties: {
    id,
    name: { type: "string" },
    type: {
      enum: [
        "PARSE",
        "CLASSIFY",
        "EXTRACT",
        "SPLITTER",
        "RULE_VALIDATION",
        "EXTERNAL_DATA_VALIDATION",
        "HUMAN_REVIEW",
      ],
    },
    processorId: id,
    processorVersion: { type: "string", minLength: 1 },
    rules: { type: "array", items: rule },
    url: { type: "string", format: "uri" },
    parseConfig: ref("ParseConfig"),
  },
  additionalProperties: false,
};

const steps = { type: "array", items: step };

/** `POST /_emulator/workflows`, and each workflow of a seed. */
export const checkWorkflowInput = schemaChecker({
  type: "object",
  required: ["name"],
  properties: { id, name: { type: "string", minLength: 1 }, steps, deploy: { type: "boolean" } },
  additionalProperties: false,
});

/** `PUT /_emulator/workflows/{id}/steps`. */
export const checkStepsInput = schemaChecker({
  type: "object",
  required: ["steps"],
  properties: { steps, deploy: { type: "boolean" } },
  additionalProperties: false,
});

/** `POST /_emulator/processors`, and each processor of a seed. */
export const checkProcessorInput = schemaChecker({
  type: "object",
  required: ["name", "type", "config"],
  properties: {
    id,
    name: { type: "string", minLength: 1 },
    type: ref("ProcessorType"),
    config: ref("ProcessorConfig"),
    publish: { type: "boolean" },
  },
  additionalProperties: false,
});

/** `POST /_emulator/workflow_runs/{id}/review`. */
export const checkReviewInput = schemaChecker({
  type: "object",
  required: ["decision"],
  properties: {
    decision: { enum: ["approve", "reject"] },
    note: { type: "string" },
    reviewer: { type: "string" },
  },
  additionalProperties: false,
});

const ids = { type: "array", items: id };

/** `POST /_emulator/webhook_endpoints`, and each endpoint of a seed. */
export const checkWebhookEndpointInput = schemaChecker({
  type: "object",
  required: ["url"],
  properties: {
    id,
    url: { type: "string", minLength: 1 },
    secret: { type: "string", minLength: 1 },
    events: { type: "array", items: ref("WebhookEventType") },
    workflowIds: ids,
    processorIds: ids,
    format: { enum: ["json", "signed_url"] },
    signedUrlThresholdBytes: { type: "integer", minimum: 0 },
  },
  additionalProperties: false,
});

const rate = { type: "number", minimum: 0 };

/** `PUT /_emulator/rate_limits`: requests per second by category. */
export const checkRateLimitsInput = schemaChecker({
  type: "object",
  properties: { get: rate, write: rate, run: rate },
  additionalProperties: false,
});

/** `POST /_emulator/edit_templates`. */
export const checkEditTemplateInput = schemaChecker({
  type: "object",
  required: ["name", "fileId"],
  properties: {
    id,
    name: { type: "string", minLength: 1 },
    description: { type: "string" },
    fileId: id,
    config: ref("EditConfig"),
    schemaConfig: ref("EditSchemaGenerationConfig"),
  },
  additionalProperties: false,
});
