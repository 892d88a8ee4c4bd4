import {
  type HostileProxyOptions,
  hostileContract,
  proxyContract,
  SECRET,
  webhookContract,
} from "@extendkit/adapter-contract";
import { createProxyHandlers, createWebhookHandler } from "../src/index.js";
import { serveOnEdge } from "./edge-server.js";
import { serveOnNode } from "./node-server.js";
import { PROXY_ROUTE, WEBHOOK_ROUTE } from "./routes.js";

webhookContract("Next.js route handlers, Node runtime", async (options) => {
  const server = await serveOnNode([
    { path: WEBHOOK_ROUTE, handlers: createWebhookHandler(options) },
  ]);
  return { url: `${server.url}${WEBHOOK_ROUTE}`, close: server.close };
});

proxyContract("Next.js route handlers, Node runtime", async ({ allowCookie, ...options }) =>
  serveOnNode([
    {
      path: PROXY_ROUTE,
      handlers: createProxyHandlers({
        ...options,
        ...(allowCookie
          ? { authorize: (request) => request.headers.get("cookie") === allowCookie }
          : {}),
      }),
    },
  ]),
);

webhookContract("Next.js route handlers, Edge runtime", async (options) => {
  const server = await serveOnEdge({ kind: "webhook", options });
  return { url: `${server.url}${WEBHOOK_ROUTE}`, close: server.close };
});

proxyContract("Next.js route handlers, Edge runtime", async ({ allowCookie, ...options }) =>
  serveOnEdge({
    kind: "proxy",
    options: {
      ...options,
      ...(allowCookie
        ? { authorize: (request) => request.headers.get("cookie") === allowCookie }
        : {}),
    },
  }),
);

const webhookOptions = { secret: SECRET, on: { "workflow_run.completed": () => {} } };

/** A full garbage collection in this process, where both runtimes' routes run. */
async function gc() {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error("Run the tests with --expose-gc (vitest.config.ts sets it).");
  collect();
}

hostileContract("Next.js route handlers, Node runtime", {
  async proxy(options: HostileProxyOptions) {
    const server = await serveOnNode([
      { path: PROXY_ROUTE, handlers: createProxyHandlers(options) },
    ]);
    return { url: `${server.url}/api/extend`, close: server.close };
  },
  async webhook() {
    const server = await serveOnNode([
      { path: WEBHOOK_ROUTE, handlers: createWebhookHandler(webhookOptions) },
    ]);
    return { url: `${server.url}${WEBHOOK_ROUTE}`, close: server.close };
  },
  gc,
});

hostileContract("Next.js route handlers, Edge runtime", {
  async proxy(options: HostileProxyOptions) {
    const server = await serveOnEdge({ kind: "proxy", options });
    return { url: `${server.url}/api/extend`, close: server.close };
  },
  async webhook() {
    const server = await serveOnEdge({ kind: "webhook", options: webhookOptions });
    return { url: `${server.url}${WEBHOOK_ROUTE}`, close: server.close };
  },
  gc,
});
