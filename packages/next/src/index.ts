/**
 * `@extendkit/next`: Next.js App Router route handlers over `@extendkit/core/handlers`. A
 * webhook receiver that checks signatures over the exact bytes received, and a proxy that
 * lets browser code call a few Extend operations with the server's token. Web standards
 * only, so the same handlers run on the Node and Edge runtimes.
 *
 * @example
 * ```ts
 * // app/webhooks/extend/route.ts
 * import { createWebhookHandler } from "@extendkit/next";
 *
 * export const { POST } = createWebhookHandler({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   on: { "workflow_run.completed": (event) => save(event.payload) },
 * });
 * ```
 *
 * ```ts
 * // app/api/extend/[...path]/route.ts
 * import { createProxyHandlers } from "@extendkit/next";
 *
 * export const { GET, POST, DELETE } = createProxyHandlers({ token: process.env.EXTEND_API_KEY! });
 * ```
 *
 * @packageDocumentation
 */
import {
  createWebhookHandler as createCoreWebhookHandler,
  createProxyHandler,
  type ProxyHandlerOptions,
  type WebhookHandlerOptions,
} from "@extendkit/core/handlers";

export {
  createMemoryDedupeStore,
  type DedupeStore,
  type MemoryDedupeOptions,
  type ProxiedOperation,
  type WebhookContext,
  type WebhookHandlerOptions,
  type WebhookHandlers,
} from "@extendkit/core/handlers";

/** The values of a route's dynamic segments, as Next.js passes them (a promise since Next 15). */
export type RouteParams = Record<string, string | string[] | undefined>;

/** The second argument Next.js gives a route handler. */
export interface RouteContext {
  /** The route's dynamic segments: a promise since Next 15, a plain object before. */
  params?: Promise<RouteParams> | RouteParams;
}

/**
 * A Next.js route handler. Next passes a `NextRequest` (a `Request`); any `Request` works,
 * so the handlers can also be called directly, in tests or another Web-standard server.
 */
export type RouteHandler = (request: Request, context?: RouteContext) => Promise<Response>;

/**
 * Receives Extend webhooks in a route handler: verifies the signature over the exact bytes
 * received (Web Crypto, so it works on the Edge runtime too), ignores repeated `eventId`s,
 * dispatches typed handlers, and answers 200 once accepted (400/401 for bad or unsigned
 * deliveries, 413 past `maxBodyBytes`, 500 without details when a handler throws). Next.js
 * answers 405 to other methods, since only `POST` is exported.
 *
 * Each instance keeps its own in-memory dedupe store; on serverless or several instances
 * pass a shared `dedupe` store.
 *
 * @example
 * ```ts
 * // app/webhooks/extend/route.ts
 * import { createWebhookHandler } from "@extendkit/next";
 *
 * export const { POST } = createWebhookHandler({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   on: {
 *     "workflow_run.completed": async (event) => console.log(event.payload.id, event.payload.status),
 *   },
 * });
 * ```
 */
export function createWebhookHandler(options: WebhookHandlerOptions): {
  /** The route's `POST` handler. */
  POST: RouteHandler;
} {
  const handle = createCoreWebhookHandler(options);
  // biome-ignore lint/correctness/noComponentHookFactories: Next names route handlers by HTTP method; this is not a React component.
  return { POST: (request) => handle(request) };
}

/**
 * Options of {@link createProxyHandlers}: the core proxy's options. Without `mountPath`,
 * the mount path is taken from where the route file sits (the URL minus its catch-all
 * segment), so any folder and a `basePath` work unchanged. The options are checked on the
 * first request, so `next build` works without the secrets in its environment.
 *
 * @example
 * ```ts
 * // app/api/extend/[...path]/route.ts
 * import { createProxyHandlers, type NextProxyOptions } from "@extendkit/next";
 *
 * const options: NextProxyOptions = {
 *   token: process.env.EXTEND_API_KEY!,
 *   allow: ["uploadFile", "runWorkflow", "getWorkflowRun", "getFile"],
 *   authorize: (request) => request.headers.get("cookie")?.includes("session=") ?? false,
 *   maxBodyBytes: 20 * 1024 * 1024,
 * };
 * export const { GET, POST, DELETE } = createProxyHandlers(options);
 * ```
 */
export interface NextProxyOptions extends Omit<ProxyHandlerOptions, "authorize"> {
  /**
   * Decides whether the caller may make this call: answer `true`, `false` (403), or a
   * `Response` to send instead (a 401 from your auth, say). It receives the `NextRequest`
   * and may use `cookies()` and `headers()` from `next/headers`.
   * @default every caller is allowed
   */
  authorize?: ProxyHandlerOptions["authorize"];
}

/** The segments a catch-all route matched, or `undefined` when it is not a catch-all. */
function catchAllSegments(params: RouteParams | undefined): string[] | undefined {
  if (!params) return undefined;
  const arrays = Object.values(params).filter((value) => Array.isArray(value));
  return arrays.length === 1 ? (arrays[0] as string[]) : undefined;
}

/**
 * On the Edge runtime, Next.js appends the route's params to the request's query
 * (`/api/extend/workflow_runs/x?path=workflow_runs&path=x`). They are not the caller's, so
 * they are not forwarded to Extend. On the Node runtime the query is left as it came.
 */
function withoutEdgeParams(request: Request, params: RouteParams): Request {
  if (typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime !== "string") return request;
  const url = new URL(request.url);
  let changed = false;
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const added = Array.isArray(value) ? value : [value];
    const all = url.searchParams.getAll(key);
    const kept = all.slice(0, all.length - added.length);
    if (!added.length || !added.every((v, i) => all[kept.length + i] === v)) continue;
    url.searchParams.delete(key);
    for (const v of kept) url.searchParams.append(key, v);
    changed = true;
  }
  if (!changed) return request;
  return new Request(url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: request.signal,
    duplex: "half",
  } as RequestInit);
}

/** The part of `pathname` before the last `count` segments: where the route is mounted. */
function mountOf(pathname: string, count: number): string {
  const parts = pathname.replace(/\/+$/, "").split("/");
  return parts.slice(0, parts.length - count).join("/") || "/";
}

/**
 * Lets browser code call an allow-list of Extend operations through a catch-all route
 * (default: upload a file, run a workflow, get a run, get a file) with the server's token:
 * the caller's credentials are dropped, `authorize` is asked first (it receives the
 * `NextRequest`), uploads stream up to `maxBodyBytes` (413 beyond), and neither the token nor
 * upstream errors reach a response. Export the handlers from
 * `app/api/extend/[...path]/route.ts`.
 *
 * @example
 * ```ts
 * // app/api/extend/[...path]/route.ts
 * import { createProxyHandlers } from "@extendkit/next";
 * import { cookies } from "next/headers";
 *
 * export const { GET, POST, DELETE } = createProxyHandlers({
 *   token: process.env.EXTEND_API_KEY!,
 *   authorize: async () => (await cookies()).has("session"),
 * });
 * ```
 */
export function createProxyHandlers(options: NextProxyOptions): {
  /** The route's `GET` handler. */
  GET: RouteHandler;
  /** The route's `POST` handler. */
  POST: RouteHandler;
  /** The route's `DELETE` handler. */
  DELETE: RouteHandler;
} {
  const proxies = new Map<string, (request: Request) => Promise<Response>>();
  // Requests rebuilt without Next's params in their query, mapped back for `authorize`.
  const originals = new WeakMap<Request, Request>();
  const core: ProxyHandlerOptions = {
    ...options,
    ...(options.authorize
      ? {
          authorize: (request, operation) =>
            (options.authorize as NonNullable<ProxyHandlerOptions["authorize"]>)(
              originals.get(request) ?? request,
              operation,
            ),
        }
      : {}),
  };
  // Created on first use: `next build` loads route modules without the runtime secrets, so a
  // missing token must not fail the build. It fails the request instead (500, logged by Next).
  const proxyAt = (mountPath: string | undefined) => {
    const key = mountPath ?? "";
    let proxy = proxies.get(key);
    if (!proxy) {
      proxy = createProxyHandler(mountPath === undefined ? core : { ...core, mountPath });
      // One route has one mount, unless a dynamic segment comes before the catch-all.
      if (proxies.size >= 64) proxies.clear();
      proxies.set(key, proxy);
    }
    return proxy;
  };
  const handle: RouteHandler = async (request, context) => {
    const params = await context?.params;
    const forwarded = params ? withoutEdgeParams(request, params) : request;
    if (forwarded !== request) originals.set(forwarded, request);
    if (options.mountPath !== undefined) return proxyAt(undefined)(forwarded);
    const segments = catchAllSegments(params);
    const mountPath =
      segments === undefined ? undefined : mountOf(new URL(request.url).pathname, segments.length);
    return proxyAt(mountPath)(forwarded);
  };
  return { GET: handle, POST: handle, DELETE: handle };
}
