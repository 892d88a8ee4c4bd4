import { API_VERSION, apiRequestParts } from "../generated/operations.js";
import { BodyTooLargeError, badHost, concat, limitStream } from "./body.js";
import { type Exchange, startExchange } from "./exchange.js";
import type { ProxiedOperation, ProxyHandlerOptions } from "./proxy-options.js";
import { createSecretScanner, scannedStream } from "./redact.js";
import { createPathResolver, fillTemplate } from "./routes.js";

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
/** Content codings fetch undoes (Fetch standard), so the scan sees the decoded bytes. */
const DECODED = ["identity", "gzip", "x-gzip", "deflate", "br"];
const encoder = new TextEncoder();
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
  // Headers trim the token they send, so one with spaces would be scanned for in a form
  // that never goes out. A trailing newline from a secret file is the usual cause.
  if (typeof options.token !== "string" || !options.token)
    throw new TypeError("createProxyHandler: `token` is required (the server's Extend API key).");
  if (/\s/.test(options.token))
    throw new TypeError(
      "createProxyHandler: `token` has spaces or line breaks (a trailing newline from a secret file?); trim it.",
    );
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

    if (request.signal.aborted) return answer(499, "The caller went away.");
    let overLimit = false;
    let body: ReadableStream<Uint8Array> | null = null;
    const exchange = startExchange(request, timeoutMs);
    try {
      if (parts.body && request.body)
        body = request.body.pipeThrough(
          limitStream(
            maxBodyBytes,
            () => (overLimit = true),
            () => exchange.progress("the upload"),
          ),
        );
    } catch (error) {
      // The body was read already (by `authorize`?): nothing is left to forward.
      exchange.settle();
      report(error);
      return answer(500, "The request body was already read.");
    }
    let upstream: Response;
    try {
      exchange.progress("Extend to answer");
      upstream = await upstreamFetch(target, {
        method: found.method,
        headers,
        body,
        signal: exchange.signal,
        redirect: "manual",
        duplex: "half",
      } as RequestInit);
    } catch (error) {
      exchange.settle();
      if (overLimit || error instanceof BodyTooLargeError) return tooLarge();
      if (request.signal.aborted) return answer(499, "The caller went away.");
      report(error);
      return exchange.timedOut
        ? answer(504, "The Extend API did not answer in time.")
        : answer(502, "The Extend API could not be reached.");
    }
    return passBack(upstream, exchange, request.signal);
  };

  /** The upstream answer as the caller may see it: checked, scanned, or withheld. */
  async function passBack(
    upstream: Response,
    exchange: Exchange,
    caller: AbortSignal,
  ): Promise<Response> {
    const withhold = (message: string, drop = () => upstream.body?.cancel()) => {
      exchange.settle();
      void drop()?.catch(() => {});
      report(new Error(message));
      return answer(502, "The Extend API's answer was withheld.");
    };
    // `redirect: "manual"`: a 3xx (or an opaque redirect in browsers) is never followed,
    // since following it would send the token wherever it points.
    if (upstream.type === "opaqueredirect" || (upstream.status >= 300 && upstream.status < 400))
      return withhold(`The Extend API answered a redirect (${upstream.status}); not followed.`);
    // Outside 200-599 a Response cannot even be built.
    if (upstream.status < 200 || upstream.status > 599)
      return withhold(`The Extend API answered status ${upstream.status}.`);
    // fetch undoes these codings; any other would hide the body from the scan.
    const codings = upstream.headers.get("content-encoding")?.toLowerCase().split(",") ?? [];
    if (codings.some((coding) => !DECODED.includes(coding.trim())))
      return withhold(`The Extend API's answer has a content-encoding the proxy cannot check.`);
    const returned = new Headers(SAFE_HEADERS);
    const values: string[] = [];
    for (const name of RETURNED) {
      const value = upstream.headers.get(name);
      if (value && scanner.test(encoder.encode(value)))
        return withhold(`The Extend API's ${name} header held the server's token.`);
      if (value) returned.set(name, value);
      if (value) values.push(value);
    }
    if (!upstream.body) {
      exchange.settle();
      return new Response(null, { status: upstream.status, headers: returned });
    }

    // Read the start of the answer; most answers end within it and are checked whole.
    const reader = upstream.body.getReader();
    const head: Uint8Array[] = [];
    let size = 0;
    let ended = false;
    try {
      while (size < HEAD_BYTES) {
        exchange.progress("Extend's answer");
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        head.push(value);
        size += value.length;
      }
    } catch (error) {
      exchange.settle();
      if (caller.aborted) return answer(499, "The caller went away.");
      report(error);
      return exchange.timedOut
        ? answer(504, "The Extend API did not answer in time.")
        : answer(502, "The Extend API's answer broke off.");
    }
    const start = concat(head);
    // With the headers before it, so a token split between a header and the body is seen.
    if (scanner.test(concat([encoder.encode(values.join("")), start])))
      return withhold("The Extend API's answer held the server's token.", () => reader.cancel());
    if (ended) {
      exchange.settle();
      return new Response(start, { status: upstream.status, headers: returned });
    }
    const rest = scannedStream(start, reader, scanner, {
      onWait: (on) => exchange.progress(on),
      onEnd: () => exchange.settle(),
      onFound: () => {
        exchange.settle();
        report(new Error("The Extend API's answer held the server's token; it was cut."));
      },
      onFail: (error) => {
        exchange.settle();
        if (!caller.aborted) report(error);
      },
    });
    return new Response(rest, { status: upstream.status, headers: returned });
  }
}
