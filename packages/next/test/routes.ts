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
      params[catchAll[1]] = got.slice(i).map(decodeURIComponent);
      return params;
    }
    if (got[i] !== part) return undefined;
  }
  return got.length === want.length ? params : undefined;
}

/**
 * Routes a request the way the App Router does for route handlers: the matching route's
 * exported method gets the request and `{ params }` (a promise, as in Next 15+); a method
 * the route does not export is 405 with `Allow`; no route is 404. Written with Web APIs
 * only, so it runs in the Edge VM too.
 */
export function dispatch(routes: readonly Route[], request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  for (const route of routes) {
    const params = match(route.path, pathname);
    if (!params) continue;
    const handler = route.handlers[request.method];
    if (!handler) {
      return Promise.resolve(
        new Response(null, {
          status: 405,
          headers: { allow: Object.keys(route.handlers).join(", ") },
        }),
      );
    }
    return handler(request, { params: Promise.resolve(params) });
  }
  return Promise.resolve(new Response("Not found", { status: 404 }));
}
