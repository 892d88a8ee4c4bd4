/**
 * Timeouts and aborts must really stop the request: with Node's own fetch against a loopback server
 * that never answers, the server sees the connection closed, so no socket (and no process)
 * is held until the server would give up.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createClient, TimeoutError } from "../src/index.js";

let server: Server;
let baseUrl: string;
const arrived: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((request) => {
    arrived.push(request); // and never answer
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test("a request that times out is aborted: the server sees its connection close", async () => {
  // Long enough that the request reaches the server even on a loaded CI machine (100 ms
  // was not, with five packages testing at once on two cores), short enough to keep the
  // test quick.
  const extend = createClient({ token: "sk_test", baseUrl, timeoutMs: 1500, retry: false });

  const error = await extend
    .GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: "workflow_run_1" } },
    })
    .catch((e: unknown) => e);

  expect(error).toBeInstanceOf(TimeoutError);
  expect(arrived).toHaveLength(1);
  const request = arrived[0]!;
  // Resolves only when the client drops the socket; the server itself never would.
  await new Promise<void>((resolve) => {
    if (request.socket.destroyed) resolve();
    else request.socket.once("close", () => resolve());
  });
  expect(request.socket.destroyed).toBe(true);
});

test("aborting after the headers arrived stops reading the body and closes the connection", async () => {
  const stalled = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.flushHeaders();
    response.write('{"success":'); // and never the rest
  });
  await new Promise<void>((resolve) => stalled.listen(0, "127.0.0.1", resolve));
  const closed = new Promise<void>((resolve) =>
    stalled.once("request", (request) => request.socket.once("close", () => resolve())),
  );
  const controller = new AbortController();
  const reason = new Error("the user left");
  let headersIn: () => void = () => {};
  const headers = new Promise<void>((resolve) => {
    headersIn = resolve;
  });
  const extend = createClient({
    token: "sk_test",
    baseUrl: `http://127.0.0.1:${(stalled.address() as AddressInfo).port}`,
    fetch: async (request) => {
      const response = await globalThis.fetch(request);
      headersIn();
      return response;
    },
  });

  const pending = extend
    .GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: "workflow_run_1" } },
      signal: controller.signal,
    })
    .catch((e: unknown) => e);
  await headers;
  controller.abort(reason);

  expect(await pending).toBe(reason);
  await closed;
  stalled.closeAllConnections();
  await new Promise((resolve) => stalled.close(resolve));
});
