import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";

/** What to send as the Web request's body instead of reading the Node stream. */
export type BodyOverride = Uint8Array | string | null;

/**
 * The request cannot be turned into a Web `Request`: its `Host` header or URL is not a
 * valid one. The middleware answers it 400 without details.
 *
 * @example
 * ```ts
 * try {
 *   toWebRequest(req, res);
 * } catch (error) {
 *   if (error instanceof MalformedRequestError) res.writeHead(400).end();
 * }
 * ```
 */
export class MalformedRequestError extends Error {
  /** Always `"MalformedRequestError"`. */
  override name = "MalformedRequestError";
}

/** A host, an IPv4 address or a bracketed IPv6 address, and an optional port. */
const HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Requests by the responses they answer: undici's `Request` follows the signal it was given
 * through a weak reference, so the request must live as long as its response can abort it.
 */
const alive = new WeakMap<ServerResponse, Request>();

/**
 * A Web `Request` for a Node request: same method, URL (from `originalUrl` when a framework
 * mounted the route) and headers; the body streams from the socket unless `body` gives it.
 * Its signal aborts when the client goes away before the response is finished, however
 * long the request waits. A `Host` header, URL or method that a Web `Request` cannot take
 * throws a {@link MalformedRequestError}.
 *
 * @example
 * ```ts
 * const request = toWebRequest(req, res);
 * const response = await handler(request);
 * await writeWebResponse(res, response);
 * ```
 */
export function toWebRequest(
  req: IncomingMessage & { originalUrl?: string },
  res: ServerResponse,
  body?: BodyOverride,
): Request {
  const host = req.headers.host ?? "localhost";
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  let url: URL;
  try {
    if (!HOST.test(host)) throw new TypeError("invalid host");
    url = new URL(req.originalUrl ?? req.url ?? "/", `${secure ? "https" : "http"}://${host}`);
  } catch {
    throw new MalformedRequestError("The request's Host header or URL is not valid.");
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new Error("The client closed the connection."));
  });
  const method = req.method ?? "GET";
  const init: RequestInit & { duplex?: "half" } = { method, headers, signal: controller.signal };
  if (method !== "GET" && method !== "HEAD") {
    if (body !== undefined) init.body = body as BodyInit | null;
    else {
      init.body = bodyOf(req);
      init.duplex = "half";
    }
  }
  let request: Request;
  try {
    request = new Request(url, init);
  } catch {
    // A method fetch forbids (TRACE, TRACK) has no Web request.
    throw new MalformedRequestError(`A ${method} request cannot be handled.`);
  }
  alive.set(res, request);
  return request;
}

/**
 * The request's body as a Web stream that reads the socket only when it is read: a body the
 * handler refuses without reading is left to Node, which discards it and keeps the
 * connection alive; one it stops reading half-way (413) is drained the same way. Node's own
 * `Readable.toWeb` starts reading at once, and a refused body then wedged the connection.
 */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  let chunks: AsyncIterator<Buffer> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        chunks ??= req.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]();
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(new Uint8Array(next.value));
      },
      async cancel() {
        await chunks?.return?.();
        req.resume();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Writes a Web `Response` to a Node response: status, headers (every `set-cookie` kept
 * apart), then the body with back-pressure. The response always ends: normally, or, when the
 * body fails part-way, by cutting the connection so the client cannot take a short body for a
 * whole one. A client that goes away cancels the body instead of leaving it to run.
 *
 * @example
 * ```ts
 * await writeWebResponse(res, new Response("ok", { status: 200 }));
 * ```
 */
export async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, response.statusText, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  res.once("close", stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await Promise.race([once(res, "drain"), once(res, "close")]);
    }
  } catch {
    // The body failed part-way and the status is already sent: cut the connection, so the
    // client sees a broken response instead of a short one that looks complete.
    res.destroy();
  } finally {
    res.off("close", stop);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}
