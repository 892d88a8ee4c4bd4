/**
 * `@extendkit/emulator`: a local, stateful emulator of the Extend API 2025-04-21 for
 * demos and tests. It serves the 44 endpoints over HTTP, validates requests against the
 * OpenAPI spec, keeps state in SQLite, executes runs asynchronously, delivers signed
 * webhooks, and can rate-limit and inject faults.
 *
 * @example
 * ```ts
 * import { startEmulator } from "@extendkit/emulator";
 *
 * const emulator = await startEmulator({ port: 0, pageLatencyMs: 0 });
 * console.log(emulator.url, emulator.token);
 * await emulator.close();
 * ```
 *
 * @packageDocumentation
 */
export type { FaultOptions, FaultRule } from "./faults.js";
export { parseFaults, seededRandom } from "./faults.js";
export {
  DEFAULT_TOKEN,
  type EmulatorOptions,
  type ResolvedOptions,
  type WebhookDeliveryOptions,
} from "./options.js";
export type { OcrFunction } from "./processors/layout.js";
export { parseRateLimit, type RateCategory, type RateLimitOptions } from "./rate-limit.js";
export { type SampleInvoice, sampleInvoicePdf } from "./sample.js";
export type { SeedDocument } from "./seed.js";
export { DEFAULT_SEED } from "./seeds/default.js";
export { type Emulator, startEmulator } from "./server.js";
export {
  type Delivery,
  type DeliveryAttempt,
  signWebhook,
  type WebhookEndpoint,
  type WebhookEndpointInput,
} from "./webhooks.js";
export type { RuleDefinition, StepDefinition, StepInput } from "./workflows-repo.js";
