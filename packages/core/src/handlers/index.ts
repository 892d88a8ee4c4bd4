/**
 * `@extendkit/core/handlers`: the framework-agnostic `(Request) => Promise<Response>`
 * handlers that `@extendkit/express` and `@extendkit/next` wrap, usable as they are in any
 * Web-standard server (Hono, Bun, Deno, Workers).
 *
 * @example
 * ```ts
 * import { createWebhookHandler } from "@extendkit/core/handlers";
 *
 * const webhook = createWebhookHandler({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   on: { "workflow_run.completed": (event) => console.log(event.payload.id) },
 * });
 * export default { fetch: webhook }; // Bun, Deno and Workers serve a default export's fetch
 * ```
 *
 * @packageDocumentation
 */
export { createMemoryDedupeStore, type DedupeStore, type MemoryDedupeOptions } from "./dedupe.js";
export { createProxyHandler } from "./proxy-handler.js";
export type { ProxiedOperation, ProxyHandlerOptions } from "./proxy-options.js";
export {
  createWebhookHandler,
  type EventOf,
  type WebhookContext,
  type WebhookHandlerOptions,
  type WebhookHandlers,
} from "./webhook-handler.js";
