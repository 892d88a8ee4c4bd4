import type { DedupeStore } from "@extendkit/core/handlers";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, expectTypeOf, test } from "vitest";
import {
  createPostgresDedupeStore,
  migrate,
  type PostgresDedupeOptions,
  type Queryable,
} from "../src/index.js";
import { quoteSchema } from "../src/sql.js";
import { dropSchemas, newPool, POSTGRES_URL, postgresAvailable, uniqueSchema } from "./postgres.js";

const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2025, 3, 21, 12);

describe("types", () => {
  test("a pg Pool, Client and PoolClient are each a Queryable", () => {
    expectTypeOf<pg.Pool>().toExtend<Queryable>();
    expectTypeOf<pg.Client>().toExtend<Queryable>();
    expectTypeOf<pg.PoolClient>().toExtend<Queryable>();
  });

  test("the store is a DedupeStore of @extendkit/core/handlers", () => {
    expectTypeOf(createPostgresDedupeStore).returns.toExtend<DedupeStore>();
  });

  test.each([
    ["ttlMs", { ttlMs: 0 }],
    ["ttlMs", { ttlMs: Number.NaN }],
    ["pruneEvery", { pruneEvery: 1.5 }],
    ["pruneLimit", { pruneLimit: -1 }],
  ] as const)("refuses a bad %s", (name, options) => {
    const db: Queryable = { query: async () => ({ rows: [], rowCount: 0 }) };
    expect(() => createPostgresDedupeStore(db, options as PostgresDedupeOptions)).toThrow(
      new RegExp(`${name} must be a positive`),
    );
  });
});

const available = await postgresAvailable();

describe.skipIf(!available)("createPostgresDedupeStore against PostgreSQL", () => {
  let pool: pg.Pool;
  const schemas = new Set<string>();
  const fresh = (label: string) => {
    const name = uniqueSchema(label);
    schemas.add(name);
    return name;
  };
  /** A store on its own schema, on a clock the test moves. */
  const clocked = (options: PostgresDedupeOptions = {}) => {
    const clock = { t: T0 };
    const schema = fresh("store");
    const store = createPostgresDedupeStore(pool, { schema, now: () => clock.t, ...options });
    return { clock, schema, store };
  };
  const rows = async (schema: string) =>
    (
      await pool.query(
        `SELECT event_id, expires_at FROM ${quoteSchema(schema)}.webhook_dedupe ORDER BY 1`,
      )
    ).rows as { event_id: string; expires_at: Date }[];

  beforeAll(() => {
    pool = newPool(10);
  });
  afterAll(async () => {
    await dropSchemas(pool, schemas);
    await pool.end();
  });

  test("a second claim of an id is refused; a claim after release succeeds", async () => {
    const { store } = clocked();
    expect(await store.claim("event_1")).toBe(true);
    expect(await store.claim("event_1")).toBe(false);
    expect(await store.claim("event_2")).toBe(true);
    await store.release("event_1");
    expect(await store.claim("event_1")).toBe(true);
    expect(await store.claim("event_1")).toBe(false);
    await store.release("event_never_claimed");
  });

  test("remembers an id for ttlMs, judged by the injected clock, then lets it be claimed again", async () => {
    const { clock, schema, store } = clocked({ ttlMs: HOUR });
    expect(await store.claim("event_1")).toBe(true);
    expect((await rows(schema))[0]?.expires_at.getTime()).toBe(T0 + HOUR);
    clock.t = T0 + HOUR - 1;
    expect(await store.claim("event_1")).toBe(false);
    clock.t = T0 + HOUR;
    expect(await store.claim("event_1")).toBe(true);
    expect((await rows(schema))[0]?.expires_at.getTime()).toBe(T0 + 2 * HOUR);
    clock.t = T0 + 2 * HOUR - 1;
    expect(await store.claim("event_1")).toBe(false);
  });

  test("without a clock, expiry is judged by the database's", async () => {
    const schema = fresh("dbclock");
    const store = createPostgresDedupeStore(pool, { schema, ttlMs: 1 });
    expect(await store.claim("event_1")).toBe(true);
    // pg_sleep moves the database's clock past the 1 ms TTL: no timer in this process.
    await pool.query("SELECT pg_sleep(0.02)");
    expect(await store.claim("event_1")).toBe(true);
    const long = createPostgresDedupeStore(pool, { schema });
    expect(await long.claim("event_2")).toBe(true);
    expect(await long.claim("event_2")).toBe(false);
  });

  test("of 50 concurrent claims of one id from 3 pools, exactly one succeeds", async () => {
    const schema = fresh("race");
    const pools = [newPool(5), newPool(5), newPool(5)];
    try {
      // Three stores on a schema that does not exist yet: their lazy migrations race too.
      const stores = pools.map((p) => createPostgresDedupeStore(p, { schema }));
      const claims = await Promise.all(
        Array.from({ length: 50 }, (_, i) => stores[i % 3]!.claim("event_contended")),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      const again = await Promise.all(stores.map((s) => s.claim("event_contended")));
      expect(again).toEqual([false, false, false]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  test("of 50 concurrent claims of an expired id, exactly one takes it over", async () => {
    const { clock, schema } = clocked();
    const pools = [newPool(5), newPool(5)];
    try {
      const stores = pools.map((p) =>
        createPostgresDedupeStore(p, { schema, ttlMs: HOUR, now: () => clock.t }),
      );
      expect(await stores[0]!.claim("event_1")).toBe(true);
      clock.t += HOUR;
      const claims = await Promise.all(
        Array.from({ length: 50 }, (_, i) => stores[i % 2]!.claim("event_1")),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  test("of 5 concurrent claims of each of 40 ids, one per id succeeds", async () => {
    const { store } = clocked();
    const ids = Array.from({ length: 40 }, (_, i) => `event_${i}`);
    const claims = await Promise.all(
      ids.flatMap((id) => [1, 2, 3, 4, 5].map(async () => ((await store.claim(id)) ? id : null))),
    );
    expect(claims.filter(Boolean).sort()).toEqual([...ids].sort());
  });

  test("prunes expired ids on the first claim and every pruneEvery-th after, pruneLimit at a time", async () => {
    const { clock, schema, store } = clocked({ ttlMs: HOUR, pruneEvery: 3, pruneLimit: 2 });
    // Claim 1 prunes (nothing yet); claims 2-5 leave five live rows.
    for (const id of ["a", "b", "c", "d", "e"]) await store.claim(id);
    expect(await rows(schema)).toHaveLength(5);
    clock.t += HOUR;
    // Claims 6 and 7 prune nothing; 7 is the 3rd since the last prune, so it prunes.
    await store.claim("f"); // claim 6: no prune
    expect((await rows(schema)).map((r) => r.event_id)).toEqual(["a", "b", "c", "d", "e", "f"]);
    await store.claim("g"); // claim 7: prunes the two oldest expired rows
    expect(await rows(schema)).toHaveLength(5);
    await store.claim("h");
    await store.claim("i");
    await store.claim("j"); // claim 10: two more
    expect((await rows(schema)).map((r) => r.event_id)).toEqual(["e", "f", "g", "h", "i", "j"]);
  });

  test("works on one pg.Client as well as a pool", async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      // One call at a time: pg 8 deprecates overlapping queries on one Client.
      const store = createPostgresDedupeStore(client, { schema: fresh("client") });
      expect(await store.claim("event_1")).toBe(true);
      expect(await store.claim("event_1")).toBe(false);
      await store.release("event_1");
      expect(await store.claim("event_1")).toBe(true);
    } finally {
      await client.end();
    }
  });

  test("with migrate: false on a schema never migrated, says what to run", async () => {
    const schema = fresh("unmigrated");
    const store = createPostgresDedupeStore(pool, { schema, migrate: false });
    await expect(store.claim("event_1")).rejects.toThrow(/does not exist: run migrate\(pool/);
    await migrate(pool, { schema });
    expect(await store.claim("event_1")).toBe(true);
  });

  test("retries a failed lazy migration on the next call", async () => {
    let failures = 1;
    const flaky: Queryable = {
      query: (text, values) => {
        if (text.startsWith("DO") && failures-- > 0)
          return Promise.reject(new Error("connection reset"));
        return pool.query(text, values);
      },
    };
    const store = createPostgresDedupeStore(flaky, { schema: fresh("retry") });
    await expect(store.claim("event_1")).rejects.toThrow("connection reset");
    expect(await store.claim("event_1")).toBe(true);
  });
});
