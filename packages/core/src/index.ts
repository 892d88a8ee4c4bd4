/**
 * `@extendkit/core`: a typed client for the Extend document-processing API, version
 * 2025-04-21, built on openapi-fetch with types generated from the OpenAPI spec.
 *
 * @example
 * ```ts
 * import { createClient } from "@extendkit/core";
 *
 * const extend = createClient({ token: process.env.EXTEND_API_KEY! });
 * const { data } = await extend.GET("/workflow_runs/{workflowRunId}", {
 *   params: { path: { workflowRunId: "workflow_run_123" } },
 * });
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
} from "./client.js";
export { API_VERSION, apiOperations, type OperationId } from "./generated/operations.js";
export type * from "./types.js";
