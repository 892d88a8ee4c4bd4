// Bundled into one script and evaluated in the Edge VM: the package and its core, no Node APIs.
import type { NextProxyOptions, WebhookHandlerOptions } from "../src/index.js";
import { createProxyHandlers, createWebhookHandler } from "../src/index.js";
import { dispatch, PROXY_ROUTE, type Route, WEBHOOK_ROUTE } from "./routes.js";

declare const contract:
  | { kind: "webhook"; options: WebhookHandlerOptions }
  | { kind: "proxy"; options: NextProxyOptions };

interface FetchEvent extends Event {
  request: Request;
  respondWith(response: Promise<Response>): void;
}

const routes: Route[] =
  contract.kind === "webhook"
    ? [{ path: WEBHOOK_ROUTE, handlers: createWebhookHandler(contract.options) }]
    : [{ path: PROXY_ROUTE, handlers: createProxyHandlers(contract.options) }];

addEventListener("fetch", (event) => {
  const fetchEvent = event as FetchEvent;
  fetchEvent.respondWith(dispatch(routes, fetchEvent.request, { edge: true }));
});
