import { API_VERSION, apiOperations, type OperationId } from "../generated/operations.js";
import { BodyTooLargeError, json, limitStream } from "./body.js";

/** The operation a proxied request maps to. */
export interface ProxiedOperation {
  /** The operation's id in the spec, such as `getWorkflowRun`. */
  operationId: OperationId;
  /** The HTTP method, upper-case, such as `GET`. */
  method: string;
  /** The path template, such as `/workflow_runs/{workflowRunId}`. */
  path: string;
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
   * The operations browsers may call, by `operationId`; anything else is 404.
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
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Called with upstream and `authorize` failures, for your logs; answers never include details. */
  onError?: (error: unknown) => void;
}

/** Headers a browser may pass through to the API; everything else (cookies, credentials) is dropped. */
const FORWARDED = ["content-type", "accept"];
/** Headers of the API's answer passed back. */
const RETURNED = ["content-type", "x-request-id", "retry-after"];

/**
 * A safe proxy for browser code as a `(Request) => Promise<Response>`: it exposes only the
 * allowed operations under `mountPath`, asks `authorize`, drops the caller's credentials,
 * adds the server's token, streams request bodies up to `maxBodyBytes` (413 beyond), and
 * passes the API's answer back without its other headers. Upstream failures answer 502
 * with no details.
 *
 * @example
 * ```ts
 * const proxy = createProxyHandler({
 *   token: process.env.EXTEND_API_KEY!,
 *   authorize: (request) => request.headers.get("cookie")?.includes("session=") ?? false,
 * });
 * // Browser: fetch("/api/extend/workflow_runs/workflow_run_123") → GET https://api.extend.ai/workflow_runs/workflow_run_123
 * ```
 */
export function createProxyHandler(
  options: ProxyHandlerOptions,
): (request: Request) => Promise<Response> {
  if (!options.token)
    throw new TypeError("createProxyHandler: `token` is required (the server's Extend API key).");
  const baseUrl = (options.baseUrl ?? "https://api.extend.ai").replace(/\/+$/, "");
  const mountPath = (options.mountPath ?? "/api/extend").replace(/\/+$/, "");
  const allowed = (options.allow ?? ["uploadFile", "runWorkflow", "getWorkflowRun", "getFile"]).map(
    (operationId) => {
      const op = apiOperations[operationId];
      if (!op)
        throw new TypeError(`createProxyHandler: unknown operation "${operationId}" in allow.`);
      return {
        operation: { operationId, method: op.method, path: op.path } as ProxiedOperation,
        // Path parameters are ids (`workflow_run_…`, `file_…`): letters, digits, `_` and `-`.
        // Anything else (an encoded `/`, `..`, `\`) is 404 rather than sent on with the token.
        pattern: new RegExp(`^${op.path.replace(/\{\w+\}/g, "[A-Za-z0-9_-]+")}/?$`),
      };
    },
  );
  const maxBodyBytes = options.maxBodyBytes ?? 50 * 1024 * 1024;
  const upstreamFetch = options.fetch ?? ((input: Request) => globalThis.fetch(input));

  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== mountPath && !url.pathname.startsWith(`${mountPath}/`))
      return json(404, { error: "Not found." });
    const path = url.pathname.slice(mountPath.length) || "/";
    const matches = allowed.filter((a) => a.pattern.test(path));
    const match = matches.find((a) => a.operation.method === request.method);
    if (!match) {
      return matches.length
        ? json(
            405,
            { error: "Method not allowed." },
            { allow: matches.map((m) => m.operation.method).join(", ") },
          )
        : json(404, { error: "Not found." });
    }
    let verdict: boolean | Response = true;
    try {
      if (options.authorize) verdict = await options.authorize(request, match.operation);
    } catch (error) {
      // A throwing auth check denies the call; the details go to your logs, not the browser.
      try {
        options.onError?.(error);
      } catch {}
      return json(500, { error: "Authorization failed." });
    }
    if (verdict instanceof Response) return verdict;
    if (!verdict) return json(403, { error: "Forbidden." });

    if (Number(request.headers.get("content-length") ?? 0) > maxBodyBytes)
      return json(413, { error: `Body larger than ${maxBodyBytes} bytes.` });
    const headers = new Headers();
    for (const name of FORWARDED) {
      const value = request.headers.get(name);
      if (value) headers.set(name, value);
    }
    headers.set("authorization", `Bearer ${options.token}`);
    headers.set("x-extend-api-version", options.apiVersion ?? API_VERSION);
    if (options.workspaceId) headers.set("x-extend-workspace-id", options.workspaceId);

    let tooLarge = false;
    const body = request.body
      ? request.body.pipeThrough(limitStream(maxBodyBytes, () => (tooLarge = true)))
      : null;
    let upstream: Response;
    try {
      upstream = await upstreamFetch(
        new Request(`${baseUrl}${path}${url.search}`, {
          method: request.method,
          headers,
          body,
          signal: request.signal,
          duplex: "half",
        } as RequestInit),
      );
    } catch (error) {
      if (tooLarge || error instanceof BodyTooLargeError)
        return json(413, { error: `Body larger than ${maxBodyBytes} bytes.` });
      try {
        options.onError?.(error);
      } catch {
        // A failing error reporter must not change the answer.
      }
      return json(502, { error: "The Extend API could not be reached." });
    }
    const returned = new Headers();
    for (const name of RETURNED) {
      const value = upstream.headers.get(name);
      if (value) returned.set(name, value);
    }
    return new Response(upstream.body, { status: upstream.status, headers: returned });
  };
}
