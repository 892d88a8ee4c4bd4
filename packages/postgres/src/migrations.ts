import { batchTables } from "./batch/tables.js";
import { quoteSchema } from "./sql.js";

/** One step of the package's schema. */
export interface Migration {
  /** Its number: 1, 2, 3... in array order, never reused or renumbered once released. */
  version: number;
  /** A short name, recorded beside the version in `schema_migrations`. */
  name: string;
  /**
   * Its statements (any number, separated by `;`), given the schema's name (unquoted:
   * quote it with `quoteSchema`). They run inside one transaction with every other pending
   * migration, so they must be transactional: no `CREATE INDEX CONCURRENTLY`, no `VACUUM`.
   */
  sql(schema: string): string;
}

/**
 * Every migration of the package's schema, oldest first.
 *
 * To change the schema, append a migration with the next version. Never edit one that has
 * been released: databases that already ran it record its version and will not run it
 * again, so an edit would leave them different from new databases.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "webhook_dedupe",
    // One row per claimed event id. Expired rows stay until a prune deletes them or a new
    // claim takes them over; the index lets a prune find them without a table scan.
    sql: (schema) => `
      CREATE TABLE ${quoteSchema(schema)}.webhook_dedupe (
        event_id text PRIMARY KEY,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX webhook_dedupe_expires_at ON ${quoteSchema(schema)}.webhook_dedupe (expires_at);
    `,
  },
  {
    version: 2,
    name: "batch_jobs",
    // Batch jobs shared by several runners: their inputs, submissions, runners (with leases)
    // and second runs, plus the rate gates that pace them.
    sql: batchTables,
  },
];
