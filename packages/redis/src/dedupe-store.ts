import type { RedisCommands } from "./clients.js";

/**
 * Options of {@link createRedisDedupeStore}.
 *
 * @example
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { createRedisDedupeStore, fromUpstash, type RedisDedupeOptions } from "@extendkit/redis";
 *
 * const options: RedisDedupeOptions = { ttlMs: 6 * 60 * 60 * 1000, prefix: "myapp:extend:" };
 * const dedupe = createRedisDedupeStore(fromUpstash(Redis.fromEnv()), options);
 * ```
 */
export interface RedisDedupeOptions {
  /**
   * How long a claimed event id is remembered (the key's `PX`). Make it longer than
   * Extend's whole redelivery window.
   * @default 86400000 (24 hours)
   */
  ttlMs?: number;
  /**
   * Put before each event id to make its key. Give each receiver endpoint its own prefix
   * when several share one Redis and receive the same events.
   * @default "extendkit:webhook:"
   */
  prefix?: string;
}

/** A `DedupeStore` of `@extendkit/core/handlers` kept in Redis. */
export interface RedisDedupeStore {
  /** Sets the id's key if it is absent and answers true; false if it is already there. */
  claim(eventId: string): Promise<boolean>;
  /** Deletes the id's key, so its redelivery is handled. */
  release(eventId: string): Promise<void>;
}

/**
 * A webhook dedupe store in Redis, for receivers that run as more than one process
 * (serverless functions, several instances behind a load balancer): a redelivered
 * `eventId` is handled once, whichever instance it reaches. A claim is one
 * `SET prefix+eventId 1 NX PX ttlMs`, atomic in Redis, so of several processes claiming an
 * id at once exactly one gets `true`; Redis expires the key by itself.
 *
 * Pass a client through its adapter: {@link fromNodeRedis}, {@link fromIoredis} or
 * {@link fromUpstash}, or your own {@link RedisCommands}.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { createWebhookHandler } from "@extendkit/core/handlers";
 * import { createRedisDedupeStore, fromNodeRedis } from "@extendkit/redis";
 *
 * const redis = await createClient({ url: process.env.REDIS_URL }).connect();
 * export const handleWebhook = createWebhookHandler({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   dedupe: createRedisDedupeStore(fromNodeRedis(redis)),
 *   on: { "workflow_run.completed": (event) => console.log(event.payload.id) },
 * });
 * ```
 */
export function createRedisDedupeStore(
  redis: RedisCommands,
  options: RedisDedupeOptions = {},
): RedisDedupeStore {
  const ttlMs = options.ttlMs ?? 86_400_000;
  if (!(Number.isFinite(ttlMs) && ttlMs > 0))
    throw new RangeError(`ttlMs must be a positive number; got ${ttlMs}.`);
  // PX takes whole milliseconds; rounding up never shortens the promised time to live.
  const px = Math.ceil(ttlMs);
  const prefix = options.prefix ?? "extendkit:webhook:";
  return {
    claim: (eventId) => redis.setIfAbsent(prefix + eventId, "1", px),
    async release(eventId) {
      await redis.del(prefix + eventId);
    },
  };
}
