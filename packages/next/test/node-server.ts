import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { NextRequest } from "next/server";
import { dispatch, type Route } from "./routes.js";

/** The caller's request as Next's Node runtime hands it to a route: a `NextRequest`. */
function toNextRequest(req: IncomingMessage, origin: string, signal: AbortSignal): NextRequest {
  const headers = new Headers();
  for (const [name, values] of Object.entries(req.headersDistinct))
    for (const value of values ?? []) headers.append(name, value);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new NextRequest(new URL(req.url ?? "/", origin), {
    method: req.method ?? "GET",
    headers,
    signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
  } as ConstructorParameters<typeof NextRequest>[1]);
}

/**
 * Writes a route's `Response` as Next's server does: status, headers, then the body with
 * back-pressure. A body that fails part-way cuts the connection, so the caller never takes a
 * short body for a whole one; a caller that leaves cancels the body.
 */
async function send(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) res.appendHeader(name, value);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.once("close", () => void reader.cancel().catch(() => {}));
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      if (!res.write(read.value)) await once(res, "drain");
    }
    res.end();
  } catch {
    res.destroy();
  }
}

/**
 * A loopback server on an ephemeral port that hands each request to `handle` with the
 * server's origin (the URL is built on it, not on the caller's `Host`, as Next does) and a
 * signal that aborts when the caller disconnects before the answer is sent.
 */
export async function serveRequests(
  handle: (req: IncomingMessage, origin: string, signal: AbortSignal) => Promise<Response>,
) {
  let origin = "";
  const server = createServer((req, res) => {
    const aborted = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) aborted.abort();
    });
    handle(req, origin, aborted.signal)
      .then((response) => send(res, response))
      .catch((error: unknown) => {
        console.error(error);
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Serves route handlers on an ephemeral loopback port as `next start` does on the Node
 * runtime: each request becomes a `NextRequest` and goes to the route's exported method.
 */
export function serveOnNode(routes: readonly Route[]) {
  return serveRequests((req, origin, signal) =>
    dispatch(routes, toNextRequest(req, origin, signal)),
  );
}
