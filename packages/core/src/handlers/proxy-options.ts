import type { OperationId } from "../generated/operations.js";

/** The operation a proxied request maps to. */
export interface ProxiedOperation {
  /** The operation's id in the spec, such as `getWorkflowRun`. */
  operationId: OperationId;
  /** The HTTP method, upper-case, such as `GET`. */
  method: string;
  /** The path template, such as `/workflow_runs/{workflowRunId}`. */
  path: string;
  /** The path parameters, such as `{ workflowRunId: "workflow_run_123" }`: ids only. */
  params: Readonly<Record<string, string>>;
}

/**
 * Options of {@link createProxyHandler}, shared by the Express and Next adapters.
 *
 * @example
 * ```ts
 * const proxy = createProxyHandler({
 *   token: process.env.EXTEND_API_KEY!,
 *   mountPath: "/extend",
 *   allow: ["uploadFile", "runWorkflow", "getWorkflowRun"],
 *   authorize: (request, operation) =>
 *     operation.method === "GET" || request.headers.get("x-csrf-token") === "expected-token",
 *   maxBodyBytes: 20 * 1024 * 1024,
 *   timeoutMs: 30_000,
 *   onError: (error) => console.error("extend proxy", error),
 * });
 * ```
 */
export interface ProxyHandlerOptions {
  /** The server's Extend API key. It is added to proxied requests and never sent back. */
  token: string;
  /** @default "https://api.extend.ai" */
  baseUrl?: string;
  /** @default "2025-04-21" */
  apiVersion?: string;
  /** Sent as `x-extend-workspace-id`. @default undefined */
  workspaceId?: string;
  /**
   * Path the proxy is mounted at; requests under it map to API paths.
   * @default "/api/extend"
   */
  mountPath?: string;
  /**
   * The operations browsers may call, by `operationId`; anything else is 404. A path is
   * first resolved against every operation of the spec (literal segments beat ids), then
   * the operation found is checked against this list.
   * @default ["uploadFile", "runWorkflow", "getWorkflowRun", "getFile"]
   */
  allow?: readonly OperationId[];
  /**
   * Decides whether the caller may make this call: answer `true`, `false` (403), or a
   * `Response` to send instead (e.g. a 401 from your auth).
   * @default () => true
   */
  authorize?: (
    request: Request,
    operation: ProxiedOperation,
  ) => boolean | Response | Promise<boolean | Response>;
  /**
   * Largest request body forwarded (uploads are streamed, not buffered).
   * @default 52428800 (50 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Longest time Extend may make no progress: to start its answer once the request is
   * sent, or between two pieces of a body in either direction. Past it the upstream call
   * is aborted: 504 before the answer started, a cut connection after.
   * @default 60000 (1 minute)
   */
  timeoutMs?: number;
  /**
   * Serve callers whose browser marks the request `Sec-Fetch-Site: cross-site` (another
   * site's page, a cross-site form). Browsers attach cookies to those, so they are refused
   * (403) unless your app is meant to be called from another site.
   * @default false
   */
  allowCrossSite?: boolean;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Called with upstream and `authorize` failures, for your logs; answers never include details. */
  onError?: (error: unknown) => void;
}
