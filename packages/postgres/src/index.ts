/**
 * `@extendkit/postgres`: shared state on PostgreSQL for extendkit deployments of more than
 * one process. It works with the `pg.Pool` you already have (`pg` is a peer dependency,
 * never imported) and keeps its tables in a schema of its own, `extendkit`, versioned by
 * {@link migrate}.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { extendWebhooks } from "@extendkit/express";
 * import { createPostgresDedupeStore } from "@extendkit/postgres";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const middleware = extendWebhooks({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   dedupe: createPostgresDedupeStore(pool), // creates its table on first use
 *   on: { "workflow_run.completed": (event) => console.log(event.payload.id) },
 * });
 * ```
 *
 * @packageDocumentation
 */
export {
  createPostgresDedupeStore,
  type PostgresDedupeOptions,
  type PostgresDedupeStore,
} from "./dedupe-store.js";
export { type MigrateOptions, type MigrateResult, migrate } from "./migrate.js";
export type { Queryable, QueryResultLike } from "./queryable.js";
