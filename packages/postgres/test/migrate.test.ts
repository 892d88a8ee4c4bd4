import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { migrate } from "../src/index.js";
import { migrationStatement } from "../src/migrate.js";
import { MIGRATIONS, type Migration } from "../src/migrations.js";
import { migrationLockKeys, quoteSchema } from "../src/sql.js";
import { dropSchemas, newPool, POSTGRES_URL, postgresAvailable, uniqueSchema } from "./postgres.js";

const LATEST = MIGRATIONS.at(-1)?.version ?? 0;

describe("the migration list", () => {
  test("numbers its migrations 1, 2, 3... in order, with distinct names", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(new Set(MIGRATIONS.map((m) => m.name)).size).toBe(MIGRATIONS.length);
  });

  test.each([
    ["extendkit", '"extendkit"'],
    ['we"ird schema', '"we""ird schema"'],
    ["ünïcode", '"ünïcode"'],
  ])("quotes the schema name %j as %s", (name, quoted) => {
    expect(quoteSchema(name)).toBe(quoted);
  });

  test.each([
    ["an empty name", ""],
    ["a name past 63 bytes", "x".repeat(64)],
    ["a NUL character", "a\0b"],
  ])("refuses %s", (_, name) => {
    expect(() => quoteSchema(name)).toThrow(TypeError);
  });

  test("keys the migration lock on the schema name, as two int4s", () => {
    const [a, b] = migrationLockKeys("extendkit");
    expect(migrationLockKeys("extendkit")).toEqual([a, b]);
    expect(migrationLockKeys("extendkit_other")[1]).not.toBe(b);
    for (const key of [a, b]) expect(key).toBe(key | 0);
  });
});

const available = await postgresAvailable();

describe.skipIf(!available)("migrate against PostgreSQL", () => {
  let admin: pg.Pool;
  const schemas = new Set<string>();
  const schema = (label: string) => {
    const name = uniqueSchema(label);
    schemas.add(name);
    return name;
  };
  const recorded = async (name: string) =>
    (
      await admin.query(
        `SELECT version, name FROM ${quoteSchema(name)}.schema_migrations ORDER BY version`,
      )
    ).rows;
  const tables = async (name: string) =>
    (
      await admin.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
        [name],
      )
    ).rows.map((r) => r.table_name);

  const ALL_TABLES = [
    "batch_chunks",
    "batch_duplicates",
    "batch_inputs",
    "batch_jobs",
    "batch_runners",
    "rate_gates",
    "schema_migrations",
    "webhook_dedupe",
  ];

  beforeAll(() => {
    admin = newPool(4);
  });
  afterAll(async () => {
    await dropSchemas(admin, schemas);
    await admin.end();
  });

  test("creates the schema and its tables and records each version once", async () => {
    const name = schema("fresh");
    expect(await migrate(admin, { schema: name })).toEqual({ schema: name, version: LATEST });
    expect(await tables(name)).toEqual(ALL_TABLES);
    expect(await recorded(name)).toEqual(
      MIGRATIONS.map(({ version, name }) => ({ version, name })),
    );

    expect(await migrate(admin, { schema: name })).toEqual({ schema: name, version: LATEST });
    expect(await recorded(name)).toHaveLength(MIGRATIONS.length);
  });

  test("run from 3 pools at once, makes one schema and records each version once", async () => {
    const name = schema("race");
    const pools = [newPool(3), newPool(3), newPool(3)];
    try {
      // Three calls per pool: nine migrations racing on up to nine connections.
      const results = await Promise.all(
        pools.flatMap((pool) => [1, 2, 3].map(() => migrate(pool, { schema: name }))),
      );
      expect(results.map((r) => r.version)).toEqual(results.map(() => LATEST));
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    const found = await admin.query(
      "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1",
      [name],
    );
    expect(found.rows[0].n).toBe(1);
    expect(await recorded(name)).toEqual(
      MIGRATIONS.map(({ version, name }) => ({ version, name })),
    );
  });

  test("works on a single pg.Client as well as a pool", async () => {
    const name = schema("client");
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      expect((await migrate(client, { schema: name })).version).toBe(LATEST);
    } finally {
      await client.end();
    }
  });

  test("applies only the migrations a schema has not recorded, in order", async () => {
    const name = schema("append");
    const next: Migration = {
      version: LATEST + 1,
      name: "appended",
      sql: (s) => `CREATE TABLE ${quoteSchema(s)}.appended (id int); SELECT 1;`,
    };
    await migrate(admin, { schema: name });
    await admin.query(migrationStatement(name, [...MIGRATIONS, next]));
    await admin.query(migrationStatement(name, [...MIGRATIONS, next]));
    expect((await recorded(name)).map((r) => r.version)).toEqual([
      ...MIGRATIONS.map((m) => m.version),
      LATEST + 1,
    ]);
    expect(await tables(name)).toContain("appended");
    // A database ahead of this build (a newer deployment migrated it) is left alone.
    expect(await migrate(admin, { schema: name })).toEqual({ schema: name, version: LATEST + 1 });
  });

  test("rolls back every change of a run when a migration fails", async () => {
    const name = schema("broken");
    const broken: Migration = {
      version: LATEST + 1,
      name: "broken",
      sql: (s) => `CREATE TABLE ${quoteSchema(s)}.half (id int); SELECT 1 / 0;`,
    };
    await expect(admin.query(migrationStatement(name, [...MIGRATIONS, broken]))).rejects.toThrow(
      /division by zero/,
    );
    const found = await admin.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [name]);
    expect(found.rowCount).toBe(0);
  });

  test("lets a role that may not create schemas migrate one a DBA created for it", async () => {
    const name = schema("owned");
    const role = `extendkit_test_role_${randomBytes(4).toString("hex")}`;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    try {
      await admin.query(`CREATE SCHEMA ${quoteSchema(name)} AUTHORIZATION ${role}`);
      const url = new URL(POSTGRES_URL);
      url.username = role;
      url.password = "";
      const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
      try {
        expect((await migrate(pool, { schema: name })).version).toBe(LATEST);
        // The same role may not create a schema of its own: the check above mattered.
        await expect(migrate(pool, { schema: schema("denied") })).rejects.toThrow(
          /permission denied/,
        );
      } finally {
        await pool.end();
      }
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${quoteSchema(name)} CASCADE`);
      await admin.query(`DROP ROLE ${role}`);
    }
  });

  test("keeps schemas with quotes and spaces in their names apart", async () => {
    const name = schema('we"ird sch');
    expect((await migrate(admin, { schema: name })).version).toBe(LATEST);
    expect(await tables(name)).toEqual(ALL_TABLES);
  });
});
