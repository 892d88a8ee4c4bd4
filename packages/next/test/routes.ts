import type { RouteHandler, RouteParams } from "../src/index.js";

/** A route file: where it sits (`/api/extend/[...path]`) and the methods it exports. */
export interface Route {
  path: string;
  handlers: Partial<Record<string, RouteHandler>>;
}

/** What `app/.../route.ts` files are served in the contract tests. */
export const WEBHOOK_ROUTE = "/webhooks/extend";
export const PROXY_ROUTE = "/api/extend/[...path]";

function match(pattern: string, pathname: string): RouteParams | undefined {
  const want = pattern.split("/").filter(Boolean);
  const got = pathname.split("/").filter(Boolean);
  const params: RouteParams = {};
  for (const [i, part] of want.entries()) {
    const catchAll = /^\[\.\.\.(\w+)\]$/.exec(part);
    if (catchAll?.[1]) {
      if (got.length <= i) return undefined;
      params[catchAll[1]] = got.slice(i).map((segment) => decodeURIComponent(segment));
      return params;
    }
    if (got[i] !== part) return undefined;
  }
  return got.length === want.length ? params : undefined;
}

/** A copy of the request with the route's params appended to its query. */
function withParamsInQuery(request: Request, params: RouteParams): Request {
  const url = new URL(request.url);
  for (const [key, value] of Object.entries(params))
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
      url.searchParams.append(key, v);
  return new Request(url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: request.signal,
    duplex: "half",
  } as RequestInit);
}

/**
 * Routes a request as the App Router does for route handlers: the matching route's
 * exported method gets the request and `{ params }` (a promise, as in Next 15+). A method
 * the route does not export is 405 (Next sends no `Allow` header); no route is 404; a
 * malformed escape is 400. With `edge`, the params are also appended to the request's
 * query, as Next's Edge runtime does. Web APIs only, so it runs in the Edge VM too.
 */
export async function dispatch(
  routes: readonly Route[],
  request: Request,
  { edge = false } = {},
): Promise<Response> {
  const { pathname } = new URL(request.url);
  for (const route of routes) {
    let params: RouteParams | undefined;
    try {
      params = match(route.path, pathname);
    } catch {
      return new Response("Bad request", { status: 400 });
    }
    if (!params) continue;
    const handler = route.handlers[request.method];
    if (!handler) return new Response(null, { status: 405 });
    const given = edge ? withParamsInQuery(request, params) : request;
    return handler(given, { params: Promise.resolve(params) });
  }
  return new Response("Not found", { status: 404 });
}
