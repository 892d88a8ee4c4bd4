import { API_VERSION, apiRequestParts, type OperationId } from "../generated/operations.js";
import { BodyTooLargeError, badHost, concat, limitStream } from "./body.js";
import { createSecretScanner, scannedStream } from "./redact.js";
import { createPathResolver, fillTemplate } from "./routes.js";

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

/** Headers a browser may pass through to the API; everything else (cookies, credentials) is dropped. */
const FORWARDED = ["content-type", "accept"];
/** Headers of the API's answer passed back. */
const RETURNED = ["content-type", "x-request-id", "retry-after"];
/** On every answer: nothing cached, nothing sniffed or rendered as a page of your origin. */
const SAFE_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
};
/** Answers up to this size are read whole before they are sent, so a withheld one is a clean 502. */
const HEAD_BYTES = 64 * 1024;

function answer(status: number, error: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { "content-type": "application/json", ...SAFE_HEADERS, ...headers },
  });
}

/**
 * A safe proxy for browser code as a `(Request) => Promise<Response>`: it exposes only the
 * allowed operations under `mountPath`, asks `authorize`, forwards only what the operation
 * takes (its path with id parameters, its declared query parameters, its body, `content-type`
 * and `accept`) with the server's token, never follows redirects, aborts the upstream call
 * when the caller leaves or Extend stalls, and passes the answer back with no header but
 * `content-type`, `x-request-id` and `retry-after`, withheld if it holds the token in any
 * form. Upstream failures answer 502 (504 on a timeout) with no details.
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
  const allowed = new Set<string>(
    options.allow ?? ["uploadFile", "runWorkflow", "getWorkflowRun", "getFile"],
  );
  for (const operationId of allowed)
    if (!Object.hasOwn(apiRequestParts, operationId))
      throw new TypeError(`createProxyHandler: unknown operation "${operationId}" in allow.`);
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!(timeoutMs > 0))
    throw new TypeError("createProxyHandler: `timeoutMs` must be a positive number of ms.");
  const maxBodyBytes = options.maxBodyBytes ?? 50 * 1024 * 1024;
  const tooLarge = () => answer(413, `Body larger than ${maxBodyBytes} bytes.`);
  const resolve = createPathResolver();
  const scanner = createSecretScanner(options.token);
  const upstreamFetch = options.fetch ?? globalThis.fetch;
  const report = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // A failing error reporter must not change the answer.
    }
  };

  return async (request) => {
    if (badHost(request)) return answer(400, "Malformed Host header.");
    const url = new URL(request.url);
    if (url.pathname !== mountPath && !url.pathname.startsWith(`${mountPath}/`))
      return answer(404, "Not found.");
    const route = resolve(url.pathname.slice(mountPath.length) || "/");
    const here = route?.operations.filter((op) => allowed.has(op.operationId)) ?? [];
    const found = here.find((op) => op.method === request.method);
    if (!route || !found) {
      return here.length
        ? answer(405, "Method not allowed.", { allow: here.map((op) => op.method).join(", ") })
        : answer(404, "Not found.");
    }
    if (!options.allowCrossSite && request.headers.get("sec-fetch-site") === "cross-site")
      return answer(403, "Cross-site requests are refused.");
    const operation: ProxiedOperation = { ...found, path: route.template, params: route.params };
    let verdict: boolean | Response = true;
    try {
      if (options.authorize) verdict = await options.authorize(request, operation);
    } catch (error) {
      // A throwing auth check denies the call; the details go to your logs, not the browser.
      report(error);
      return answer(500, "Authorization failed.");
    }
    if (verdict instanceof Response) return verdict;
    if (!verdict) return answer(403, "Forbidden.");

    const parts = apiRequestParts[found.operationId];
    const mediaType = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
    // A JSON operation fed a form or text/plain is what a cross-site form sends.
    if (parts.body && request.body && mediaType !== parts.body)
      return answer(415, `Send the body as ${parts.body}.`);
    if (Number(request.headers.get("content-length") ?? 0) > maxBodyBytes) return tooLarge();

    const target = new URL(`${baseUrl}${fillTemplate(route.template, route.params)}`);
    for (const [name, value] of url.searchParams)
      if (parts.query.includes(name)) target.searchParams.append(name, value);
    const headers = new Headers();
    for (const name of FORWARDED) {
      const value = request.headers.get(name);
      if (value) headers.set(name, value);
    }
    headers.set("authorization", `Bearer ${options.token}`);
    headers.set("x-extend-api-version", options.apiVersion ?? API_VERSION);
    if (options.workspaceId) headers.set("x-extend-workspace-id", options.workspaceId);

    // The upstream call has its own controller, fed by the caller's signal and the timer:
    // a signal chained through intermediate `Request` objects is lost once they are
    // garbage-collected (undici follows it through a weak reference).
    const upstreamAbort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        upstreamAbort.abort(new Error(`Extend made no progress for ${timeoutMs} ms.`));
      }, timeoutMs);
    };
    const callerLeft = () => upstreamAbort.abort(request.signal.reason);
    // `request` stays referenced until the exchange ends, which keeps its signal alive.
    const settle = () => {
      clearTimeout(timer);
      request.signal.removeEventListener("abort", callerLeft);
    };
    if (request.signal.aborted) return answer(499, "The caller went away.");
    request.signal.addEventListener("abort", callerLeft);

    let overLimit = false;
    const body =
      parts.body && request.body
        ? request.body.pipeThrough(limitStream(maxBodyBytes, () => (overLimit = true), arm))
        : null;
    let upstream: Response;
    try {
      arm();
      upstream = await upstreamFetch(target, {
        method: found.method,
        headers,
        body,
        signal: upstreamAbort.signal,
        redirect: "manual",
        duplex: "half",
      } as RequestInit);
    } catch (error) {
      settle();
      if (overLimit || error instanceof BodyTooLargeError) return tooLarge();
      if (request.signal.aborted) return answer(499, "The caller went away.");
      report(error);
      return timedOut
        ? answer(504, "The Extend API did not answer in time.")
        : answer(502, "The Extend API could not be reached.");
    }
    const withhold = (message: string, drop = () => upstream.body?.cancel()) => {
      settle();
      void drop()?.catch(() => {});
      report(new Error(message));
      return answer(502, "The Extend API's answer was withheld.");
    };
    // `redirect: "manual"`: a 3xx (or an opaque redirect in browsers) is never followed,
    // since following it would send the token wherever it points.
    if (upstream.type === "opaqueredirect" || (upstream.status >= 300 && upstream.status < 400))
      return withhold(
        `The Extend API answered a redirect (${upstream.status}); it was not followed.`,
      );
    const returned = new Headers(SAFE_HEADERS);
    for (const name of RETURNED) {
      const value = upstream.headers.get(name);
      if (value && scanner.test(new TextEncoder().encode(value)))
        return withhold(`The Extend API's ${name} header held the server's token.`);
      if (value) returned.set(name, value);
    }
    if (!upstream.body) {
      settle();
      return new Response(null, { status: upstream.status, headers: returned });
    }

    // Read the start of the answer; most answers end within it and are checked whole.
    const reader = upstream.body.getReader();
    const head: Uint8Array[] = [];
    let size = 0;
    let ended = false;
    try {
      arm();
      while (size < HEAD_BYTES) {
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        arm();
        head.push(value);
        size += value.length;
      }
    } catch (error) {
      settle();
      if (request.signal.aborted) return answer(499, "The caller went away.");
      report(error);
      return timedOut
        ? answer(504, "The Extend API did not answer in time.")
        : answer(502, "The Extend API's answer broke off.");
    }
    const start = concat(head);
    if (scanner.test(start))
      return withhold("The Extend API's answer held the server's token.", () => reader.cancel());
    if (ended) {
      settle();
      return new Response(start, { status: upstream.status, headers: returned });
    }
    const rest = scannedStream(start, reader, scanner, {
      onChunk: arm,
      onEnd: settle,
      onFound: () => {
        settle();
        report(new Error("The Extend API's answer held the server's token; it was cut."));
      },
    });
    return new Response(rest, { status: upstream.status, headers: returned });
  };
}
