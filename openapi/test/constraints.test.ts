import { describe, expect, test } from "vitest";
import { schemaValidator } from "./load-spec.js";

// The spec's schemas carry the request rules of the reference brief, so that the emulator
// can enforce them without a second, hand-written copy. Each row: [schema, case, body, valid].
const schema = schemaValidator();
const file = (i: number) => ({ fileId: `file_${i}` });

const cases: Array<[string, string, unknown, boolean]> = [
  ["RunWorkflowRequest", "two file inputs", { workflowId: "w", files: [file(1), file(2)] }, true],
  ["RunWorkflowRequest", "raw texts only", { workflowId: "w", rawTexts: ["a", "b"] }, true],
  ["RunWorkflowRequest", "workflowId only", { workflowId: "w" }, false],
  ["RunWorkflowRequest", "no workflowId", { rawTexts: ["a"] }, false],
  [
    "RunWorkflowRequest",
    "51 files",
    { workflowId: "w", files: Array.from({ length: 51 }, (_, i) => file(i)) },
    false,
  ],
  [
    "RunWorkflowRequest",
    "50 files",
    { workflowId: "w", files: Array.from({ length: 50 }, (_, i) => file(i)) },
    true,
  ],
  ["RunWorkflowRequest", "priority 0", { workflowId: "w", rawTexts: ["a"], priority: 0 }, false],
  [
    "RunWorkflowRequest",
    "priority 101",
    { workflowId: "w", rawTexts: ["a"], priority: 101 },
    false,
  ],
  ["RunWorkflowRequest", "priority 1", { workflowId: "w", rawTexts: ["a"], priority: 1 }, true],
  [
    "RunWorkflowRequest",
    "a file with neither fileId nor fileUrl",
    { workflowId: "w", files: [{ fileName: "a.pdf" }] },
    false,
  ],
  [
    "RunWorkflowRequest",
    "a file URL that is not a URL",
    { workflowId: "w", files: [{ fileUrl: "not a url" }] },
    false,
  ],
  [
    "RunWorkflowRequest",
    "usage tags that are not strings",
    { workflowId: "w", rawTexts: ["a"], metadata: { "extend:usage_tags": [1] } },
    false,
  ],
  ["BatchRunWorkflowRequest", "no inputs", { workflowId: "w", inputs: [] }, false],
  [
    "BatchRunWorkflowRequest",
    "1001 inputs",
    { workflowId: "w", inputs: Array.from({ length: 1001 }, () => ({ rawText: "a" })) },
    false,
  ],
  [
    "BatchRunWorkflowRequest",
    "1000 inputs",
    { workflowId: "w", inputs: Array.from({ length: 1000 }, () => ({ rawText: "a" })) },
    true,
  ],
  [
    "BatchRunWorkflowRequest",
    "an input with neither file nor rawText",
    { workflowId: "w", inputs: [{ metadata: {} }] },
    false,
  ],
  [
    "RunProcessorRequest",
    "a processor and a raw text",
    { processorId: "dp_1", rawText: "x" },
    true,
  ],
  ["RunProcessorRequest", "no processorId", { rawText: "x" }, false],
  ["RunProcessorRequest", "neither file nor rawText", { processorId: "dp_1" }, false],
  [
    "RunProcessorRequest",
    "priority 101",
    { processorId: "dp_1", rawText: "x", priority: 101 },
    false,
  ],
  [
    "RunProcessorRequest",
    "a config of an unknown type",
    { processorId: "dp_1", rawText: "x", config: { type: "OCR" } },
    false,
  ],
  [
    "CreateProcessorRequest",
    "neither config nor cloneProcessorId",
    { name: "p", type: "EXTRACT" },
    false,
  ],
  [
    "CreateProcessorRequest",
    "a clone",
    { name: "p", type: "EXTRACT", cloneProcessorId: "dp_1" },
    true,
  ],
  [
    "CreateProcessorRequest",
    "an extraction schema config",
    {
      name: "p",
      type: "EXTRACT",
      config: { type: "EXTRACT", schema: { type: "object", properties: {} } },
    },
    true,
  ],
  [
    "CreateProcessorRequest",
    "an extraction config without schema or fields",
    { name: "p", type: "EXTRACT", config: { type: "EXTRACT" } },
    false,
  ],
  [
    "CreateProcessorRequest",
    "a classification config without classifications",
    { name: "p", type: "CLASSIFY", config: { type: "CLASSIFY" } },
    false,
  ],
  ["PublishProcessorVersionRequest", "a patch release", { releaseType: "patch" }, false],
  ["ParseRequest", "no file", { config: {} }, false],
  [
    "ParseRequest",
    "a file with neither fileUrl nor fileId",
    { file: { fileName: "a.pdf" } },
    false,
  ],
  [
    "ParseRequest",
    "an unknown chunking strategy",
    { file: file(1), config: { chunkingStrategy: { type: "word" } } },
    false,
  ],
  [
    "ParseRequest",
    "section chunks in markdown",
    { file: file(1), config: { target: "markdown", chunkingStrategy: { type: "section" } } },
    true,
  ],
  ["EditRequest", "a template instead of a file", { templateId: "edt_1" }, true],
  ["EditRequest", "neither file nor template", { config: {} }, false],
  ["CreateEvaluationSetRequest", "no description", { name: "n", processorId: "dp_1" }, false],
  [
    "CreateEvaluationSetItemRequest",
    "a JSON expected output",
    { evaluationSetId: "ev_1", fileId: "file_1", expectedOutput: { value: { total: 1 } } },
    true,
  ],
  [
    "BulkCreateEvaluationSetItemsRequest",
    "no items",
    { evaluationSetId: "ev_1", items: [] },
    false,
  ],
  // The vendor's client puts no length on names (WorkflowCreateRequest.name: string).
  ["CreateWorkflowRequest", "an empty name", { name: "" }, true],
  ["CreateWorkflowRequest", "no name", {}, false],
];

describe("request schemas", () => {
  test.each(cases)("%s: %s → valid %s", (name, _case, body, valid) => {
    const validate = schema(name);
    expect(validate(body)).toBe(valid);
  });
});
