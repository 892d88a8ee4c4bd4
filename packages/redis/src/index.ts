/**
 * `@extendkit/redis`: a webhook dedupe store in Redis for extendkit deployments of more than
 * one process. No runtime dependency: it takes the client you already have, node-redis,
 * ioredis or `@upstash/redis`, through a one-line adapter, and runs wherever that client
 * runs (Node, serverless and Edge functions, Workers).
 *
 * @example
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { createWebhookHandler } from "@extendkit/next";
 * import { createRedisDedupeStore, fromUpstash } from "@extendkit/redis";
 *
 * // app/webhooks/extend/route.ts
 * export const { POST } = createWebhookHandler({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   dedupe: createRedisDedupeStore(fromUpstash(Redis.fromEnv())),
 *   on: { "workflow_run.completed": (event) => console.log(event.payload.id) },
 * });
 * ```
 *
 * @packageDocumentation
 */
export {
  fromIoredis,
  fromNodeRedis,
  fromUpstash,
  type IoredisClient,
  type NodeRedisClient,
  type NodeRedisSetOptions,
  type RedisCommands,
  type UpstashClient,
} from "./clients.js";
export {
  createRedisDedupeStore,
  type RedisDedupeOptions,
  type RedisDedupeStore,
} from "./dedupe-store.js";
