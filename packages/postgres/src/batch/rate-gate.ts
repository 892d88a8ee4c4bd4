import type { SharedRateGate } from "@extendkit/batch";
import { quoteSchema } from "../sql.js";
import { DB_NOW, type PgQueryable } from "./journal.js";

/**
 * Options of {@link createPostgresRateGate}.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { createPostgresRateGate } from "@extendkit/postgres/batch";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const gate = createPostgresRateGate(pool, { name: "extend-api", perSecond: 5 });
 * ```
 */
export interface PostgresRateGateOptions {
  /** The gate's name: every runner (of any job) using the same name shares one rate. */
  name: string;
  /** Submission requests per second allowed across every runner together. */
  perSecond: number;
  /**
   * The Postgres schema the package's tables live in.
   * @default "extendkit"
   */
  schema?: string;
}

/**
 * One submission rate for every runner of a job, kept in PostgreSQL: each request takes the
 * next free slot on the database's clock, slots are `1000 / perSecond` ms apart, so together
 * the runners never send faster than `perSecond`, however many there are. A 429's
 * `Retry-After` seen by one runner moves every later slot past it, pausing all of them.
 * Each slot costs one statement.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { runBatch } from "@extendkit/batch";
 * import { createPostgresJournal, createPostgresRateGate } from "@extendkit/postgres/batch";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const job = runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: ["invoices/0001.pdf"],
 *   journal: createPostgresJournal(pool, { job: "march" }),
 *   rateGate: createPostgresRateGate(pool, { name: "march", perSecond: 5 }),
 * });
 * ```
 */
export function createPostgresRateGate(
  pool: PgQueryable,
  options: PostgresRateGateOptions,
): SharedRateGate {
  const s = quoteSchema(options.schema ?? "extendkit");
  const { name, perSecond } = options;
  if (!(perSecond > 0))
    throw new RangeError(`createPostgresRateGate: perSecond must be above 0; got ${perSecond}.`);
  // Whole milliseconds, rounded up: never faster than perSecond.
  const spacing = Math.ceil(1000 / perSecond);
  let created = false;
  return {
    async take(signal) {
      signal.throwIfAborted();
      if (!created) {
        await pool.query(`INSERT INTO ${s}.rate_gates (name) VALUES ($1) ON CONFLICT DO NOTHING`, [
          name,
        ]);
        created = true;
      }
      // The slot is the later of: the next free one, the end of a pause, now.
      const { rows } = await pool.query(
        `WITH t AS (SELECT ${DB_NOW} AS now)
         UPDATE ${s}.rate_gates SET next_at = GREATEST(next_at, paused_until, t.now) + $2
         FROM t WHERE name = $1
         RETURNING next_at - $2 - t.now AS wait`,
        [name, spacing],
      );
      const wait = Number(rows[0]?.wait ?? 0);
      if (wait > 0) await sleep(wait, signal);
    },
    async pause(ms) {
      await pool.query(
        `UPDATE ${s}.rate_gates SET paused_until = GREATEST(paused_until, ${DB_NOW} + $2) WHERE name = $1`,
        [name, Math.ceil(ms)],
      );
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", stop, { once: true });
  });
}
