import { Redis as Ioredis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createRedisDedupeStore,
  fromIoredis,
  fromNodeRedis,
  type RedisCommands,
  type RedisDedupeStore,
} from "../src/index.js";
import {
  connect,
  dropPrefix,
  type NodeRedis,
  REDIS_URL,
  redisAvailable,
  uniquePrefix,
} from "./redis.js";

const available = await redisAvailable();

/** Polls `check` every 5 ms until it holds, for at most `ms`: a condition, not a sleep. */
async function until(check: () => Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.skipIf(!available)("createRedisDedupeStore against Redis", () => {
  let admin: NodeRedis;
  const prefixes = new Set<string>();
  const prefix = (label: string) => {
    const p = uniquePrefix(label);
    prefixes.add(p);
    return p;
  };
  /** Separate connections, each through its library's adapter. */
  const connections: { close(): Promise<unknown> }[] = [];
  const clients = {
    "node-redis": async (): Promise<RedisCommands> => {
      const client = await connect();
      connections.push(client);
      return fromNodeRedis(client);
    },
    ioredis: async (): Promise<RedisCommands> => {
      const client = new Ioredis(REDIS_URL, { maxRetriesPerRequest: 1 });
      connections.push({ close: () => client.quit() });
      return fromIoredis(client);
    },
  };

  beforeAll(async () => {
    admin = await connect();
  });
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(admin, p);
    await Promise.all(connections.map((c) => c.close()));
    await admin.close();
  });

  describe.each(Object.keys(clients) as (keyof typeof clients)[])("through %s", (library) => {
    const store = async (options: { ttlMs?: number; prefix?: string } = {}) =>
      createRedisDedupeStore(await clients[library](), { prefix: prefix(library), ...options });

    test("a second claim of an id is refused; a claim after release succeeds", async () => {
      const dedupe = await store();
      expect(await dedupe.claim("event_1")).toBe(true);
      expect(await dedupe.claim("event_1")).toBe(false);
      expect(await dedupe.claim("event_2")).toBe(true);
      await dedupe.release("event_1");
      expect(await dedupe.claim("event_1")).toBe(true);
      expect(await dedupe.claim("event_1")).toBe(false);
      await dedupe.release("event_never_claimed");
    });

    test("stores prefix + eventId with a PX of ttlMs", async () => {
      const p = prefix("ttl");
      const dedupe = createRedisDedupeStore(await clients[library](), { prefix: p });
      await dedupe.claim("event_1");
      expect(await admin.exists(`${p}event_1`)).toBe(1);
      const pttl = await admin.pTTL(`${p}event_1`);
      expect(pttl).toBeGreaterThan(86_400_000 - 60_000);
      expect(pttl).toBeLessThanOrEqual(86_400_000);
    });

    test("lets an id be claimed again once Redis has expired it", async () => {
      const p = prefix("expiry");
      // A TTL long enough that a loaded machine cannot let it lapse between the first two
      // claims; then Redis is told to expire the key now, and the store must see that.
      const dedupe = createRedisDedupeStore(await clients[library](), { prefix: p, ttlMs: 60_000 });
      expect(await dedupe.claim("event_1")).toBe(true);
      expect(await dedupe.claim("event_1")).toBe(false);
      expect(await admin.pExpire(`${p}event_1`, 1)).toBeTruthy();
      await until(async () => (await admin.exists(`${p}event_1`)) === 0);
      expect(await dedupe.claim("event_1")).toBe(true);
    });

    test("of 50 concurrent claims of one id over 5 connections, exactly one succeeds", async () => {
      const p = prefix("race");
      const stores: RedisDedupeStore[] = [];
      for (let i = 0; i < 5; i++)
        stores.push(createRedisDedupeStore(await clients[library](), { prefix: p }));
      const claims = await Promise.all(
        Array.from({ length: 50 }, (_, i) => stores[i % 5]!.claim("event_contended")),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
    });
  });

  test("refuses a ttlMs that is not a positive number", () => {
    const commands: RedisCommands = { setIfAbsent: async () => true, del: async () => 0 };
    for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => createRedisDedupeStore(commands, { ttlMs })).toThrow(RangeError);
  });
});
