/**
 * The two Redis commands the store sends, whatever the client library: adapt any client to
 * it in two lines, or use {@link fromNodeRedis}, {@link fromIoredis} or {@link fromUpstash}.
 *
 * @example
 * ```ts
 * import { createRedisDedupeStore, type RedisCommands } from "@extendkit/redis";
 *
 * // A client with a generic command method, e.g. Bun's RedisClient.
 * declare const redis: { send(command: string, args: string[]): Promise<unknown> };
 * const commands: RedisCommands = {
 *   setIfAbsent: async (key, value, ttlMs) =>
 *     (await redis.send("SET", [key, value, "NX", "PX", String(ttlMs)])) != null,
 *   del: (key) => redis.send("DEL", [key]),
 * };
 * const dedupe = createRedisDedupeStore(commands);
 * ```
 */
export interface RedisCommands {
  /** `SET key value NX PX ttlMs`: true if the key was set, false if it already existed. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** `DEL key`. */
  del(key: string): Promise<unknown>;
}

/** What {@link fromNodeRedis} needs of a node-redis (`redis`) v4, v5 or v6 client or cluster. */
export interface NodeRedisClient {
  /** node-redis's `set`, with its options object. */
  set(key: string, value: string, options: NodeRedisSetOptions): Promise<unknown>;
  /** node-redis's `del`. */
  del(key: string): Promise<unknown>;
}

/**
 * The options object {@link fromNodeRedis} passes to `set`, in both of node-redis's
 * spellings: `NX`/`PX` (v4; deprecated but still read in v5 and v6) and
 * `condition`/`expiration` (v5 and later). Each version reads its own and ignores the
 * other, so no version can silently drop the `NX` and turn a claim into an overwrite.
 *
 * @example
 * ```ts
 * import type { NodeRedisSetOptions } from "@extendkit/redis";
 *
 * // What a 24-hour claim sends: SET key 1 PX 86400000 NX, on node-redis v4 to v6.
 * const options: NodeRedisSetOptions = {
 *   NX: true,
 *   PX: 86_400_000,
 *   condition: "NX",
 *   expiration: { type: "PX", value: 86_400_000 },
 * };
 * ```
 */
export interface NodeRedisSetOptions {
  /** v4's "only if absent". */
  NX: true;
  /** v4's time to live in milliseconds. */
  PX: number;
  /** v5's "only if absent". */
  condition: "NX";
  /** v5's time to live in milliseconds. */
  expiration: {
    /** Milliseconds. */
    type: "PX";
    /** The time to live. */
    value: number;
  };
}

/** What {@link fromIoredis} needs of an ioredis v5 or v6 `Redis` or `Cluster`. */
export interface IoredisClient {
  /** ioredis's `set`, with Redis's own argument tokens. */
  set(key: string, value: string, px: "PX", milliseconds: number, nx: "NX"): Promise<unknown>;
  /** ioredis's `del`. */
  del(key: string): Promise<unknown>;
}

/** What {@link fromUpstash} needs of an `@upstash/redis` `Redis` (REST, any runtime). */
export interface UpstashClient {
  /** Upstash's `set`, with its lower-case options object. */
  set(key: string, value: string, options: { nx: true; px: number }): Promise<unknown>;
  /** Upstash's `del`. */
  del(key: string): Promise<unknown>;
}

// SET ... NX answers "OK" when it set the key and nil when the key existed; clients map
// nil to null. Anything else counts as set, so an "OK" decoded as bytes still claims.
const wasSet = (reply: unknown) => reply !== null && reply !== undefined;

/**
 * Adapts a node-redis (`redis` on npm) v4, v5 or v6 client, or a cluster from
 * `createCluster`, to {@link RedisCommands}.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { createRedisDedupeStore, fromNodeRedis } from "@extendkit/redis";
 *
 * const redis = await createClient({ url: process.env.REDIS_URL }).connect();
 * const dedupe = createRedisDedupeStore(fromNodeRedis(redis));
 * ```
 */
export function fromNodeRedis(client: NodeRedisClient): RedisCommands {
  return {
    setIfAbsent: async (key, value, ttlMs) =>
      wasSet(
        await client.set(key, value, {
          NX: true,
          PX: ttlMs,
          condition: "NX",
          expiration: { type: "PX", value: ttlMs },
        }),
      ),
    del: (key) => client.del(key),
  };
}

/**
 * Adapts an ioredis v5 or v6 `Redis` or `Cluster` to {@link RedisCommands}.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { createRedisDedupeStore, fromIoredis } from "@extendkit/redis";
 *
 * const dedupe = createRedisDedupeStore(fromIoredis(new Redis(process.env.REDIS_URL!)));
 * ```
 */
export function fromIoredis(client: IoredisClient): RedisCommands {
  return {
    setIfAbsent: async (key, value, ttlMs) =>
      wasSet(await client.set(key, value, "PX", ttlMs, "NX")),
    del: (key) => client.del(key),
  };
}

/**
 * Adapts an `@upstash/redis` client (Redis over HTTPS: serverless and Edge functions) to
 * {@link RedisCommands}.
 *
 * @example
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { createRedisDedupeStore, fromUpstash } from "@extendkit/redis";
 *
 * const dedupe = createRedisDedupeStore(fromUpstash(Redis.fromEnv()));
 * ```
 */
export function fromUpstash(client: UpstashClient): RedisCommands {
  return {
    setIfAbsent: async (key, value, ttlMs) =>
      wasSet(await client.set(key, value, { nx: true, px: ttlMs })),
    del: (key) => client.del(key),
  };
}
