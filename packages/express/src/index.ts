/**
 * `@extendkit/express`: Express 4 and 5 middleware over `@extendkit/core/handlers`. A
 * webhook receiver that checks signatures over the exact raw bytes whatever ran before it,
 * and a proxy that lets a browser call a few Extend operations with the server's token.
 *
 * @example
 * ```ts
 * import express from "express";
 * import { extendProxy, extendWebhooks } from "@extendkit/express";
 *
 * const app = express();
 * app.post("/webhooks/extend", extendWebhooks({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   on: { "workflow_run.completed": (event) => save(event.payload) },
 * }));
 * app.use(extendProxy({ token: process.env.EXTEND_API_KEY!, authorize: (req) => !!req.headers.cookie }));
 * app.use(express.json());
 * ```
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  createProxyHandler,
  createWebhookHandler,
  type ProxiedOperation,
  type ProxyHandlerOptions,
  type WebhookHandlerOptions,
} from "@extendkit/core/handlers";
import {
  type BodyOverride,
  MalformedRequestError,
  toWebRequest,
  writeWebResponse,
} from "./node-http.js";

export {
  type BodyOverride,
  MalformedRequestError,
  toWebRequest,
  writeWebResponse,
} from "./node-http.js";

/** The part of an Express request the middleware reads (Express 4 and 5 alike). */
export type ExpressRequest = IncomingMessage & {
  /** The URL before Express stripped a router's mount path. */
  originalUrl?: string;
  /** What a body parser left, if one ran. */
  body?: unknown;
  /** The raw bytes, kept by a body parser's `verify` callback. */
  rawBody?: unknown;
  /** Set by Express's body parsers once they have read the body. */
  _body?: boolean;
};

/** An Express middleware, typed without importing Express (a peer dependency). */
export type Middleware = (
  req: ExpressRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Raised when a body parser consumed the webhook's raw bytes before the middleware ran.
 * {@link extendWebhooks} passes it to `next`, and its message shows the middleware order to use.
 *
 * @example
 * ```ts
 * import type { NextFunction, Request, Response } from "express";
 *
 * app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
 *   if (error instanceof RawBodyUnavailableError) res.status(500).send("Misconfigured webhook route");
 *   else next(error);
 * });
 * ```
 */
export class RawBodyUnavailableError extends Error {
  /** Always `"RawBodyUnavailableError"`. */
  override name = "RawBodyUnavailableError";
}

const PARSED_BODY_HELP = `The Extend webhook middleware got a body that was already parsed (express.json() or similar ran first), so the signature over the raw bytes cannot be checked. Mount the webhook route before the body parsers:

  app.post("/webhooks/extend", extendWebhooks({ secret }));
  app.use(express.json());

or keep the raw bytes while parsing:

  app.use(express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } }));`;

/**
 * The raw body whatever ran before: `req.rawBody`, a Buffer from `express.raw()`, a string
 * from `express.text()`, or the unread stream (`undefined`). A parsed object means the bytes
 * are gone.
 */
function rawBodyOf(req: ExpressRequest): BodyOverride | undefined {
  for (const value of [req.rawBody, req.body]) {
    if (typeof value === "string") return value;
    if (value instanceof Uint8Array) return value;
  }
  const consumed = req._body === true || req.readableEnded;
  if (consumed) throw new RawBodyUnavailableError(PARSED_BODY_HELP);
  return undefined;
}

/**
 * Receives Extend webhooks: verifies the signature over the exact bytes received, ignores
 * repeated `eventId`s, dispatches typed handlers, and answers 200 once accepted (400/401 for
 * bad or unsigned deliveries, 405 for other methods, 413 past `maxBodyBytes`, 500 without
 * details when a handler throws). Works before or after `express.raw()`/`express.text()`, or
 * with a `rawBody` kept by a parser's `verify`; after `express.json()` alone it passes a
 * {@link RawBodyUnavailableError} that shows the middleware order to use.
 *
 * @example
 * ```ts
 * app.post("/webhooks/extend", extendWebhooks({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   on: { "workflow_run.completed": (event) => console.log(event.payload.id) },
 * }));
 * ```
 */
export function extendWebhooks(options: WebhookHandlerOptions): Middleware {
  const handle = createWebhookHandler(options);
  return (req, res, next) => {
    let body: BodyOverride | undefined;
    try {
      body = req.method === "POST" ? rawBodyOf(req) : null;
    } catch (error) {
      next(error);
      return;
    }
    serve(handle, req, res, body, next);
  };
}

/**
 * Runs a core handler on the request and writes its answer. A request a Web `Request` cannot
 * hold (a malformed `Host`, a forbidden method) is answered 400 here, with no details, and so
 * is whatever `check` refuses.
 */
function serve(
  handle: (request: Request) => Promise<Response>,
  req: ExpressRequest,
  res: ServerResponse,
  body: BodyOverride | undefined,
  next: (error?: unknown) => void,
  check?: (request: Request) => string | undefined,
): void {
  const send = (response: Response) => writeWebResponse(res, response);
  let request: Request;
  try {
    request = toWebRequest(req, res, body);
  } catch (error) {
    if (!(error instanceof MalformedRequestError)) throw error;
    send(Response.json({ error: "Malformed request." }, { status: 400 })).catch(next);
    return;
  }
  const refused = check?.(request);
  if (refused) {
    send(Response.json({ error: refused }, { status: 400 })).catch(next);
    return;
  }
  handle(request).then(send).catch(next);
}

/**
 * Options of {@link extendProxy}: the core proxy's, with `authorize` given the Express request.
 *
 * @example
 * ```ts
 * app.use(extendProxy({
 *   token: process.env.EXTEND_API_KEY!,
 *   mountPath: "/api/extend",
 *   allow: ["uploadFile", "runWorkflow", "getWorkflowRun"],
 *   authorize: (req) => typeof req.headers.authorization === "string",
 *   onError: (error) => console.error("extend proxy", error),
 * }));
 * ```
 */
export interface ExpressProxyOptions extends Omit<ProxyHandlerOptions, "authorize"> {
  /**
   * Decides whether the caller may make this call (a session check, say); false answers
   * 403. It also gets the operation, with its path parameters, to check ownership of an id.
   * @default every caller is allowed
   */
  authorize?: (req: ExpressRequest, operation: ProxiedOperation) => boolean | Promise<boolean>;
}

/**
 * Lets a browser app call an allow-list of Extend operations under `mountPath` (default
 * `/api/extend`: upload a file, run a workflow, get a run, get a file) with the server's
 * token: the caller's credentials are dropped, `authorize` is asked first, uploads stream up
 * to `maxBodyBytes`, and neither the token nor internal errors reach a response. Requests
 * outside `mountPath` go on to the next middleware.
 *
 * @example
 * ```ts
 * app.use(extendProxy({
 *   token: process.env.EXTEND_API_KEY!,
 *   authorize: (req) => req.headers.cookie?.includes("session=") ?? false,
 * }));
 * ```
 */
export function extendProxy(options: ExpressProxyOptions): Middleware {
  const requests = new WeakMap<Request, ExpressRequest>();
  const { authorize, ...rest } = options;
  const handle = createProxyHandler({
    ...rest,
    ...(authorize
      ? {
          authorize: (request: Request, operation: ProxiedOperation) => {
            const req = requests.get(request);
            return req ? authorize(req, operation) : false;
          },
        }
      : {}),
  });
  const mountPath = (options.mountPath ?? "/api/extend").replace(/\/+$/, "");
  return (req, res, next) => {
    const path = (req.originalUrl ?? req.url ?? "/").split("?")[0] ?? "/";
    if (path !== mountPath && !path.startsWith(`${mountPath}/`)) {
      next();
      return;
    }
    // A JSON body parsed before the proxy is sent on re-serialised: the proxy signs nothing.
    let body: BodyOverride | undefined;
    if (req.body instanceof Uint8Array || typeof req.body === "string") body = req.body;
    else if (req._body === true || req.readableEnded)
      body = req.body === undefined ? null : JSON.stringify(req.body);
    serve(handle, req, res, body, next, (request) => {
      // Express routes the raw path; the proxy the normalised one. Where they differ (`..`,
      // `\`), a guard mounted on the raw path would be passed by: refuse instead.
      if (new URL(request.url).pathname !== path) return "Malformed path.";
      requests.set(request, req);
      return undefined;
    });
  };
}
