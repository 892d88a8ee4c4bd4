import type { components } from "./generated/extend-api.js";

export type { components, operations, paths, webhooks } from "./generated/extend-api.js";

/** Every named schema of the spec, by name. */
export type Schemas = components["schemas"];
/**
 * One named schema of the spec.
 *
 * @example
 * ```ts
 * import type { Schema } from "@extendkit/core";
 * type Run = Schema<"WorkflowRun">;
 * ```
 */
export type Schema<Name extends keyof Schemas> = Schemas[Name];

/** A workflow run with its outputs and step runs. */
export type WorkflowRun = Schemas["WorkflowRun"];
/** An item of `GET /workflow_runs`. */
export type WorkflowRunSummary = Schemas["WorkflowRunSummary"];
/** Status of a workflow run. */
export type WorkflowStatus = Schemas["WorkflowStatus"];
/** A run of a validation step of a workflow. */
export type StepRun = Schemas["StepRun"];
/** A stored file (named `FileObject` so it does not shadow the global `File`). */
export type FileObject = Schemas["File"];
/** A processor run; also each of a workflow run's outputs. */
export type ProcessorRun = Schemas["ProcessorRun"];
/** An item of `GET /processor_runs`. */
export type ProcessorRunSummary = Schemas["ProcessorRunSummary"];
/** Status of a processor run. */
export type ProcessorStatus = Schemas["ProcessorStatus"];
/** Output of a processor run: JSON, legacy fields, classification or splits. */
export type ProcessorOutput = Schemas["ProcessorOutput"];
/** A processor config, tagged by `type`. */
export type ProcessorConfig = Schemas["ProcessorConfig"];
/** A processor with its draft version. */
export type Processor = Schemas["Processor"];
/** One version of a processor. */
export type ProcessorVersion = Schemas["ProcessorVersion"];
/** A batch processor run, such as an evaluation run. */
export type BatchProcessorRun = Schemas["BatchProcessorRun"];
/** A finished parser run with its chunks. */
export type ParserRun = Schemas["ParserRun"];
/** The status of a parser run in progress. */
export type ParserRunStatus = Schemas["ParserRunStatus"];
/** How to parse a file. */
export type ParseConfig = Schemas["ParseConfig"];
/** A chunk of a parsed file. */
export type Chunk = Schemas["Chunk"];
/** A block (text, heading, table, figure...) of a chunk. */
export type Block = Schemas["Block"];
/** A finished edit run. */
export type EditRun = Schemas["EditRun"];
/** The status of an edit run in progress. */
export type EditRunStatus = Schemas["EditRunStatus"];
/** An evaluation set. */
export type EvaluationSet = Schemas["EvaluationSet"];
/** An item of an evaluation set. */
export type EvaluationSetItem = Schemas["EvaluationSetItem"];
/** Every webhook event type of this API version. */
export type WebhookEventType = Schemas["WebhookEventType"];
/** A webhook delivery in JSON format; narrow on `eventType`. */
export type WebhookEvent = Schemas["WebhookEvent"];
/** A webhook delivery in signed-URL format. */
export type SignedUrlWebhookEvent = Schemas["SignedUrlWebhookEvent"];
/** The error body of the classic endpoints. */
export type ErrorResponse = Schemas["ErrorResponse"];
/** The error body of the parse and edit endpoints. */
export type ExtendError = Schemas["ExtendError"];
/** The machine-readable error codes known for this API version. */
export type KnownErrorCode = Schemas["KnownErrorCode"];
/**
 * Machine-readable error code: one of the known codes, or any other string (the API may add
 * codes). Written so that editors still offer the known codes.
 */
export type ErrorCode = KnownErrorCode | (string & {});
