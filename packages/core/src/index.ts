/**
 * `@extendkit/core`: a typed client for the Extend document-processing API, version
 * 2025-04-21, built on openapi-fetch with types generated from the OpenAPI spec: retries
 * beneath openapi-fetch, timeouts, typed errors, pagination, polling and uploads. Webhook
 * verification is in `@extendkit/core/webhooks`, server handlers in
 * `@extendkit/core/handlers`, file-path uploads in `@extendkit/core/node`.
 *
 * @example
 * ```ts
 * import { createClient, waitForWorkflowRun } from "@extendkit/core";
 *
 * const extend = createClient({ token: process.env.EXTEND_API_KEY! });
 * const { data, error } = await extend.POST("/workflow_runs", {
 *   body: { workflowId: "workflow_abc", rawTexts: ["Invoice #42, total $120.00"] },
 * });
 * if (error) throw error;
 * const run = await waitForWorkflowRun(extend, data.workflowRuns[0]!.id);
 * ```
 *
 * @packageDocumentation
 */
export {
  type ApiVersion,
  type ClientOptions,
  createClient,
  DEFAULT_BASE_URL,
  type ExtendClient,
  type ThrowingExtendClient,
} from "./client.js";
export {
  ApiError,
  ExtendKitError,
  isApiError,
  isExtendKitError,
  NetworkError,
  PollingTimeoutError,
  RateLimitError,
  type RequestInfo,
  TimeoutError,
} from "./errors.js";
export { API_VERSION, apiOperations, type OperationId } from "./generated/operations.js";
export type { LoggingOptions, LogLevel, LogSink } from "./logging.js";
export { type ListItem, type ListPath, type PaginateOptions, paginate } from "./paginate.js";
export {
  type PollOptions,
  waitForEditRun,
  waitForParserRun,
  waitForProcessorRun,
  waitForWorkflowRun,
} from "./poll.js";
export type { RetryOptions } from "./retry.js";
export type * from "./types.js";
export { type UploadOptions, type UploadResult, type UploadSource, uploadFile } from "./upload.js";
