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

async function send(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) res.appendHeader(name, value);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read())
    res.write(read.value);
  res.end();
}

/**
 * Serves route handlers on an ephemeral loopback port as `next start` does on the Node
 * runtime: each request becomes a `NextRequest` and goes to the route's exported method.
 */
export async function serveOnNode(routes: readonly Route[]) {
  let origin = "";
  const server = createServer((req, res) => {
    const aborted = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) aborted.abort();
    });
    dispatch(routes, toNextRequest(req, origin, aborted.signal))
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
