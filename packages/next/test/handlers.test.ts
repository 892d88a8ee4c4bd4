import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { signedDelivery } from "@extendkit/adapter-contract";
import type { WorkflowRun } from "@extendkit/core";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import type { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { createProxyHandlers, createWebhookHandler, type RouteHandler } from "../src/index.js";
import { edgeBundle, serveOnEdge } from "./edge-server.js";
import { serveOnNode } from "./node-server.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});

describe("createProxyHandlers", () => {
  it("takes its mount path from where the catch-all route sits, in any folder", async () => {
    const handlers = createProxyHandlers({ token: emulator.token, baseUrl: emulator.url });
    const server = await serveOnNode([{ path: "/shop/api/documents/[...rest]", handlers }]);
    try {
      const created = await fetch(`${server.url}/shop/api/documents/workflow_runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ workflowId: emulator.seed.workflowId, rawTexts: ["Invoice 9"] }),
      });
      expect(created.status).toBe(200);
      const id = (await created.json()).workflowRuns[0].id;
      const read = await fetch(`${server.url}/shop/api/documents/workflow_runs/${id}`);
      expect((await read.json()).workflowRun.id).toBe(id);
    } finally {
      await server.close();
    }
  });

  it("uses an explicit mountPath as given", async () => {
    const { GET } = createProxyHandlers({
      token: emulator.token,
      baseUrl: emulator.url,
      mountPath: "/x",
    });
    const inside = await GET(new Request("http://app.test/x/workflow_runs/workflow_run_none"));
    expect(inside.status).toBe(404);
    expect(await inside.json()).toMatchObject({
      error: expect.stringContaining("workflow_run_none"),
    });
    // Outside the configured mount nothing is proxied, whatever the route params say.
    const outside = await GET(new Request("http://app.test/y/workflow_runs/workflow_run_none"), {
      params: Promise.resolve({ path: ["workflow_runs", "workflow_run_none"] }),
    });
    expect(await outside.json()).toEqual({ error: "Not found." });
  });

  it("works without route params, at the default /api/extend", async () => {
    const { GET } = createProxyHandlers({ token: emulator.token, baseUrl: emulator.url });
    const run = await GET(new Request("http://app.test/api/extend/workflow_runs/workflow_run_no"));
    expect(run.status).toBe(404);
    expect(await run.json()).toMatchObject({ error: expect.stringContaining("workflow_run_no") });
  });

  it("checks its options on the first request, so next build loads the route without secrets", async () => {
    // `process.env.EXTEND_API_KEY` is undefined while `next build` collects the routes.
    const missing = createProxyHandlers({ token: undefined as unknown as string });
    const typo = createProxyHandlers({ token: "t", allow: ["nope" as never] });
    const request = () => new Request("http://app.test/api/extend/workflow_runs/x");
    await expect(missing.GET(request())).rejects.toThrow(/`token` is required/);
    await expect(typo.GET(request())).rejects.toThrow(/unknown operation "nope"/);
  });

  it("exports GET, POST and DELETE, the methods of the proxied operations", () => {
    expect(Object.keys(createProxyHandlers({ token: "t" })).sort()).toEqual([
      "DELETE",
      "GET",
      "POST",
    ]);
  });
});

describe("createWebhookHandler", () => {
  it("exports only POST, which takes a plain Request too", async () => {
    const seen: string[] = [];
    const handlers: Record<string, RouteHandler> = createWebhookHandler({
      secret: "wss_contract_secret",
      onEvent: (event) => void seen.push(event.eventId),
    });
    expect(Object.keys(handlers)).toEqual(["POST"]);
    const { body, headers } = await signedDelivery("plain");
    const response = await handlers.POST?.(
      new Request("http://app.test/webhooks/extend", { method: "POST", body, headers }),
    );
    expect(response?.status).toBe(200);
    expect(seen).toEqual(["plain"]);
  });
});

describe("types", () => {
  it("fit Next's route handler signature and type each event by its type", () => {
    type NextRoute = (
      request: NextRequest,
      context: { params: Promise<{ path: string[] }> },
    ) => Promise<Response>;
    const proxy = createProxyHandlers({ token: "t" });
    expectTypeOf(proxy.GET).toExtend<NextRoute>();
    expectTypeOf(proxy.DELETE).toExtend<NextRoute>();
    const webhook = createWebhookHandler({
      secret: "s",
      on: {
        "workflow_run.completed": (event) => {
          expectTypeOf(event.payload).toEqualTypeOf<WorkflowRun>();
        },
      },
    });
    expectTypeOf(webhook.POST).toExtend<NextRoute>();
    // @ts-expect-error: not an event type of the API
    createWebhookHandler({ secret: "s", on: { "workflow_run.finished": () => {} } });
    // @ts-expect-error: the proxy's allow-list takes operation ids of the spec
    createProxyHandlers({ token: "t", allow: ["deleteEverything"] });
  });
});

describe("the Edge runtime", () => {
  it("has no Node globals, so the contract there runs without them", async () => {
    const server = await serveOnEdge({ kind: "webhook", options: { secret: "wss_x" } });
    try {
      expect(
        server.runtime.evaluate(
          "[typeof process, typeof require, typeof Buffer, typeof setImmediate].join()",
        ),
      ).toBe("undefined,undefined,undefined,undefined");
    } finally {
      await server.close();
    }
  });

  it("verifies inside the VM: the handlers get the VM's own Request", async () => {
    const requests: unknown[] = [];
    const server = await serveOnEdge({
      kind: "webhook",
      options: {
        secret: "wss_contract_secret",
        onEvent: (_event, context) => void requests.push(context.request),
      },
    });
    try {
      const { body, headers } = await signedDelivery("in-vm");
      const answer = await fetch(`${server.url}/webhooks/extend`, {
        method: "POST",
        body,
        headers,
      });
      expect(answer.status).toBe(200);
      expect(requests).toHaveLength(1);
      expect(requests[0]).not.toBeInstanceOf(Request);
      expect(requests[0]).toBeInstanceOf(server.runtime.context.Request);
    } finally {
      await server.close();
    }
  });

  it("does not forward the route params Next's Edge runtime adds to the query", async () => {
    const upstream: string[] = [];
    const api = createServer((req, res) => {
      upstream.push(`${req.method} ${req.url}`);
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    const seenByAuthorize: string[] = [];
    const server = await serveOnEdge({
      kind: "proxy",
      options: {
        token: "t",
        baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
        authorize: (request) => {
          seenByAuthorize.push(new URL(request.url).search);
          return true;
        },
      },
    });
    try {
      await fetch(`${server.url}/api/extend/files/file_1?rawText=true&path=mine`);
      await fetch(`${server.url}/api/extend/workflow_runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      // Next's `path` params are gone, and so is the caller's own `path`: getFile declares
      // no such query parameter, so the proxy never forwards one.
      expect(upstream).toEqual(["GET /files/file_1?rawText=true", "POST /workflow_runs"]);
      // authorize gets the request as the route got it.
      expect(seenByAuthorize).toEqual([
        "?rawText=true&path=mine&path=files&path=file_1",
        "?path=workflow_runs",
      ]);
    } finally {
      await server.close();
      api.close();
    }
  });

  it("bundles for the browser platform with nothing left unresolved", async () => {
    const code = await edgeBundle();
    expect(code).not.toMatch(/\brequire\(|from\s*["']node:/);
    expect(code).toContain("crypto.subtle");
  });
});
