import { MIGRATIONS, type Migration } from "./migrations.js";
import type { Queryable } from "./queryable.js";
import { DEFAULT_SCHEMA, migrationLockKeys, quoteSchema } from "./sql.js";

/**
 * Options of {@link migrate}.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { migrate, type MigrateOptions } from "@extendkit/postgres";
 *
 * const options: MigrateOptions = { schema: "extendkit_staging" };
 * await migrate(new pg.Pool({ connectionString: process.env.DATABASE_URL }), options);
 * ```
 */
export interface MigrateOptions {
  /**
   * The schema the package's tables live in; created if missing.
   * @default "extendkit"
   */
  schema?: string;
}

/** What {@link migrate} leaves behind. */
export interface MigrateResult {
  /** The schema that was migrated. */
  schema: string;
  /** The schema's version now: the highest migration recorded in `schema_migrations`. */
  version: number;
}

/** The highest version this build of the package knows. */
const LATEST = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Creates the package's schema and its tables, or brings them up to date. Safe to run from
 * any number of processes at once, and cheap once done (one `SELECT`), so running it on
 * every start is fine; the stores run it for you on first use unless told not to.
 *
 * How: the pending migrations run as one `DO` statement, which Postgres executes as one
 * transaction on one connection, so a `pg.Pool` works as well as a single client (no
 * `connect()` and no `BEGIN` sent from here). That statement first takes a transaction-level
 * advisory lock keyed on the schema name (`pg_advisory_xact_lock`), so concurrent runs queue
 * up, and each applies only the versions that `schema_migrations` does not record yet. A
 * failing migration rolls back every change of that run. The lock is released when the
 * statement ends, also under PgBouncer's transaction pooling.
 *
 * The role needs the `CREATE` privilege on the database (for the schema) or on the schema
 * (for its tables) while there is something to apply.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { migrate } from "@extendkit/postgres";
 *
 * // In a deploy step, with a role allowed to create the schema:
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const { version } = await migrate(pool);
 * console.log(`extendkit schema at version ${version}`);
 * await pool.end();
 * ```
 */
export async function migrate(db: Queryable, options: MigrateOptions = {}): Promise<MigrateResult> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const current = await versionOf(db, schema);
  if (current !== undefined && current >= LATEST) return { schema, version: current };
  await db.query(migrationStatement(schema, MIGRATIONS));
  return { schema, version: (await versionOf(db, schema)) ?? 0 };
}

/** The schema's recorded version, or undefined if it has no `schema_migrations` table yet. */
async function versionOf(db: Queryable, schema: string): Promise<number | undefined> {
  try {
    const { rows } = await db.query(
      `SELECT coalesce(max(version), 0) AS version FROM ${quoteSchema(schema)}.schema_migrations`,
    );
    return Number((rows[0] as { version: unknown } | undefined)?.version ?? 0);
  } catch (error) {
    // undefined_table, invalid_schema_name: nothing migrated yet.
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "42P01" || code === "3F000") return undefined;
    throw error;
  }
}

/** The single `DO` statement that applies every migration the schema has not recorded. */
export function migrationStatement(schema: string, migrations: readonly Migration[]): string {
  const s = quoteSchema(schema);
  const [classKey, schemaKey] = migrationLockKeys(schema);
  const steps = migrations.map((m) => {
    const body = m.sql(schema);
    const tag = `$extendkit_migration_${m.version}$`;
    if (body.includes(tag) || body.includes(OUTER_TAG))
      throw new Error(`Migration ${m.version} contains the quoting tag ${tag} or ${OUTER_TAG}.`);
    return `
  IF applied_version < ${m.version} THEN
    EXECUTE ${tag}${body}${tag};
    INSERT INTO ${s}.schema_migrations (version, name) VALUES (${m.version}, ${literal(m.name)});
  END IF;`;
  });
  // The existence check comes before CREATE SCHEMA because Postgres checks the CREATE
  // privilege even with IF NOT EXISTS: a role may use a schema a DBA created for it.
  return `DO ${OUTER_TAG}
DECLARE applied_version integer;
BEGIN
  PERFORM pg_advisory_xact_lock(${classKey}, ${schemaKey});
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ${literal(schema)}) THEN
    CREATE SCHEMA ${s};
  END IF;
  CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  );
  SELECT coalesce(max(version), 0) INTO applied_version FROM ${s}.schema_migrations;
${steps.join("")}
END
${OUTER_TAG}`;
}

const OUTER_TAG = "$extendkit_migrate$";

/** A string literal that reads the same whatever `standard_conforming_strings` is. */
const literal = (value: string) => `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
