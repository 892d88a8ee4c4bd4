import { migrate } from "./migrate.js";
import type { Queryable } from "./queryable.js";
import { DEFAULT_SCHEMA, quoteSchema } from "./sql.js";

/**
 * Options of {@link createPostgresDedupeStore}.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { createPostgresDedupeStore, type PostgresDedupeOptions } from "@extendkit/postgres";
 *
 * const options: PostgresDedupeOptions = { ttlMs: 6 * 60 * 60 * 1000, schema: "webhooks" };
 * const dedupe = createPostgresDedupeStore(new pg.Pool(), options);
 * ```
 */
export interface PostgresDedupeOptions {
  /**
   * How long a claimed event id is remembered. Make it longer than Extend's whole
   * redelivery window.
   * @default 86400000 (24 hours)
   */
  ttlMs?: number;
  /**
   * The schema holding the `webhook_dedupe` table.
   * @default "extendkit"
   */
  schema?: string;
  /**
   * Run {@link migrate} once, on the store's first use. Turn it off when the role the app
   * connects with may not create tables, and run `migrate` in a deploy step instead.
   * @default true
   */
  migrate?: boolean;
  /**
   * The current time in milliseconds, for tests. Without it the database's clock decides,
   * so every process judges expiry by the same clock.
   * @default the database's `statement_timestamp()`
   */
  now?: () => number;
  /**
   * Expired ids are deleted on the store's first claim and then once every `pruneEvery`
   * claims, at most `pruneLimit` rows at a time.
   * @default 100
   */
  pruneEvery?: number;
  /**
   * Most expired rows one prune deletes, so a prune is never unbounded work on a request.
   * @default 1000
   */
  pruneLimit?: number;
}

/** A `DedupeStore` of `@extendkit/core/handlers` kept in Postgres. */
export interface PostgresDedupeStore {
  /** Records `eventId` and answers true if no live claim holds it; false otherwise. */
  claim(eventId: string): Promise<boolean>;
  /** Forgets `eventId`, so its redelivery is handled. */
  release(eventId: string): Promise<void>;
}

/**
 * A webhook dedupe store in Postgres, for receivers that run as more than one process
 * (serverless functions, several instances behind a load balancer): a redelivered
 * `eventId` is handled once, whichever instance it reaches. Pass it as the `dedupe` option
 * of `createWebhookHandler` (`@extendkit/core/handlers`), `extendWebhooks`
 * (`@extendkit/express`) or the Next.js route handler.
 *
 * A claim is one statement (`INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`), so of
 * several processes claiming the same id at once exactly one gets `true`; an expired claim
 * can be taken again. The store creates its table on first use (see
 * {@link PostgresDedupeOptions.migrate}).
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { createWebhookHandler } from "@extendkit/core/handlers";
 * import { createPostgresDedupeStore } from "@extendkit/postgres";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * export const handleWebhook = createWebhookHandler({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   dedupe: createPostgresDedupeStore(pool),
 *   on: { "workflow_run.completed": (event) => console.log(event.payload.id) },
 * });
 * ```
 */
export function createPostgresDedupeStore(
  db: Queryable,
  options: PostgresDedupeOptions = {},
): PostgresDedupeStore {
  const ttlMs = positive("ttlMs", options.ttlMs ?? 86_400_000);
  const pruneEvery = positive("pruneEvery", options.pruneEvery ?? 100, true);
  const pruneLimit = positive("pruneLimit", options.pruneLimit ?? 1000, true);
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const table = `${quoteSchema(schema)}.webhook_dedupe`;
  // $n::float8 milliseconds, or null for the database's clock: one expression for both.
  const at = (n: number) => `coalesce(to_timestamp($${n}::float8 / 1000), statement_timestamp())`;
  const claimSql = `INSERT INTO ${table} AS d (event_id, expires_at)
    VALUES ($1, ${at(2)} + $3::float8 * interval '1 millisecond')
    ON CONFLICT (event_id) DO UPDATE SET expires_at = excluded.expires_at
      WHERE d.expires_at <= ${at(2)}
    RETURNING 1`;
  // SKIP LOCKED: rows another process is claiming or pruning right now are left to it.
  const pruneSql = `DELETE FROM ${table} WHERE event_id IN (
    SELECT event_id FROM ${table} WHERE expires_at <= ${at(1)}
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`;
  const releaseSql = `DELETE FROM ${table} WHERE event_id = $1`;

  let ready: Promise<unknown> | undefined;
  const prepare = () => {
    if (options.migrate === false) return undefined;
    // A failed migration is retried by the next call rather than remembered.
    ready ??= migrate(db, { schema }).catch((error) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
  const time = () => (options.now ? options.now() : null);
  const explain = (error: unknown): unknown => {
    if ((error as { code?: unknown } | null)?.code !== "42P01") return error;
    return new Error(
      `The table ${table} does not exist: run migrate(pool, { schema: "${schema}" }) first, or leave the store's migrate option on.`,
      { cause: error },
    );
  };
  let claims = 0;

  return {
    async claim(eventId) {
      await prepare();
      let claimed: boolean;
      try {
        claimed = (await db.query(claimSql, [eventId, time(), ttlMs])).rows.length > 0;
      } catch (error) {
        throw explain(error);
      }
      if (claims++ % pruneEvery === 0) {
        try {
          await db.query(pruneSql, [time(), pruneLimit]);
        } catch {
          // Pruning only saves space: expired rows are claimable anyway, and the next
          // prune retries. It must not turn a good claim into a failed delivery.
        }
      }
      return claimed;
    },
    async release(eventId) {
      await prepare();
      try {
        await db.query(releaseSql, [eventId]);
      } catch (error) {
        throw explain(error);
      }
    },
  };
}

function positive(name: string, value: number, integer = false): number {
  if (!(Number.isFinite(value) && value > 0) || (integer && !Number.isInteger(value)))
    throw new RangeError(
      `${name} must be a positive ${integer ? "integer" : "number"}; got ${value}.`,
    );
  return value;
}
