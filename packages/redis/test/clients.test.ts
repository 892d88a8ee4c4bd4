// The adapters against fake clients that record their exact arguments, and against the
// real libraries' types. (The node-redis and ioredis adapters also run against a real
// Redis in dedupe-store.test.ts; Upstash speaks HTTPS to its own service, so its adapter
// is checked here only.)
import type { DedupeStore } from "@extendkit/core/handlers";
import type { Redis as Upstash } from "@upstash/redis";
import type { Redis as Ioredis, Cluster as IoredisCluster } from "ioredis";
import type { createClient, createCluster } from "redis";
import { describe, expect, expectTypeOf, test } from "vitest";
import {
  createRedisDedupeStore,
  fromIoredis,
  fromNodeRedis,
  fromUpstash,
  type RedisCommands,
} from "../src/index.js";

/** A fake client: records every call, answers `set` with `reply` and `del` with 1. */
function fake(reply: unknown) {
  const calls: unknown[][] = [];
  return {
    calls,
    client: {
      set: async (...args: unknown[]) => {
        calls.push(["set", ...args]);
        return reply;
      },
      del: async (...args: unknown[]) => {
        calls.push(["del", ...args]);
        return 1;
      },
    },
  };
}

const adapters = [
  [
    "node-redis",
    (c: ReturnType<typeof fake>["client"]) => fromNodeRedis(c),
    ["k", "1", { NX: true, PX: 1500, condition: "NX", expiration: { type: "PX", value: 1500 } }],
  ],
  [
    "ioredis",
    (c: ReturnType<typeof fake>["client"]) => fromIoredis(c),
    ["k", "1", "PX", 1500, "NX"],
  ],
  [
    "@upstash/redis",
    (c: ReturnType<typeof fake>["client"]) => fromUpstash(c),
    ["k", "1", { nx: true, px: 1500 }],
  ],
] as const;

describe.each(adapters)("the %s adapter", (_, adapt, setArgs) => {
  test("sends SET NX PX with the client's own argument shape", async () => {
    const { calls, client } = fake("OK");
    expect(await adapt(client).setIfAbsent("k", "1", 1500)).toBe(true);
    expect(calls).toEqual([["set", ...setArgs]]);
  });

  test.each([
    ["OK", true],
    [Buffer.from("OK"), true],
    [null, false],
    [undefined, false],
  ])("reads a SET reply of %o as %s", async (reply, claimed) => {
    expect(await adapt(fake(reply).client).setIfAbsent("k", "1", 1500)).toBe(claimed);
  });

  test("sends DEL of the one key", async () => {
    const { calls, client } = fake("OK");
    await adapt(client).del("k");
    expect(calls).toEqual([["del", "k"]]);
  });

  test("passes the client's errors on, so the receiver answers 500 and Extend redelivers", async () => {
    const failing = {
      set: () => Promise.reject(new Error("ECONNREFUSED")),
      del: () => Promise.reject(new Error("ECONNREFUSED")),
    };
    const store = createRedisDedupeStore(adapt(failing));
    await expect(store.claim("event_1")).rejects.toThrow("ECONNREFUSED");
    await expect(store.release("event_1")).rejects.toThrow("ECONNREFUSED");
  });
});

describe("the store over any RedisCommands", () => {
  test("claims prefix + eventId for a whole number of milliseconds, and deletes it on release", async () => {
    const calls: unknown[][] = [];
    const commands: RedisCommands = {
      setIfAbsent: async (...args) => {
        calls.push(["setIfAbsent", ...args]);
        return true;
      },
      del: async (key) => calls.push(["del", key]),
    };
    const defaults = createRedisDedupeStore(commands);
    expect(await defaults.claim("event_1")).toBe(true);
    await defaults.release("event_1");
    const custom = createRedisDedupeStore(commands, { prefix: "app:", ttlMs: 10.2 });
    await custom.claim("event_2");
    expect(calls).toEqual([
      ["setIfAbsent", "extendkit:webhook:event_1", "1", 86_400_000],
      ["del", "extendkit:webhook:event_1"],
      ["setIfAbsent", "app:event_2", "1", 11],
    ]);
  });
});

describe("types", () => {
  test("each adapter takes its library's real clients and no other library's", () => {
    type Clients = {
      nodeRedis: ReturnType<typeof createClient>;
      nodeRedisCluster: ReturnType<typeof createCluster>;
      ioredis: Ioredis;
      ioredisCluster: IoredisCluster;
      upstash: Upstash;
    };
    expectTypeOf<Clients["nodeRedis"]>().toExtend<Parameters<typeof fromNodeRedis>[0]>();
    expectTypeOf<Clients["nodeRedisCluster"]>().toExtend<Parameters<typeof fromNodeRedis>[0]>();
    expectTypeOf<Clients["ioredis"]>().toExtend<Parameters<typeof fromIoredis>[0]>();
    expectTypeOf<Clients["ioredisCluster"]>().toExtend<Parameters<typeof fromIoredis>[0]>();
    expectTypeOf<Clients["upstash"]>().toExtend<Parameters<typeof fromUpstash>[0]>();
    // Never called: only the type errors are under test.
    const wrong = (c: Clients) => {
      // @ts-expect-error ioredis's set takes tokens, not node-redis's options object
      fromNodeRedis(c.ioredis);
      // @ts-expect-error node-redis's set takes an options object, not tokens
      fromIoredis(c.nodeRedis);
      // @ts-expect-error node-redis's options are upper-case
      fromUpstash(c.nodeRedis);
      // @ts-expect-error Upstash's options are lower-case
      fromNodeRedis(c.upstash);
    };
    expect(typeof wrong).toBe("function");
  });

  test("the store is a DedupeStore of @extendkit/core/handlers", () => {
    expectTypeOf(createRedisDedupeStore).returns.toExtend<DedupeStore>();
  });
});
