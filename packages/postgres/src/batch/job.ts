import type { BatchJournal, BatchOutcome, SharedRateGate } from "@extendkit/batch";
import { migrate } from "../migrate.js";
import { quoteSchema } from "../sql.js";
import { createPostgresJournal, jobOutcomes, type PgPool, type PgQueryable } from "./journal.js";
import { createPostgresRateGate } from "./rate-gate.js";

/**
 * Where a job shared through PostgreSQL stands, as `extendkit batch status` prints it.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { jobStatus } from "@extendkit/postgres/batch";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const status = await jobStatus(pool, "march-invoices");
 * if (status) console.log(`${status.finished}/${status.inputs} inputs finished`);
 * ```
 */
export interface JobStatus {
  /** The job's name. */
  job: string;
  /** The workflow it runs. */
  workflowId: string;
  /** Inputs the runners have read so far. */
  inputs: number;
  /** Inputs with an outcome. */
  finished: number;
  /** Finished inputs by outcome status (`COMPLETED`, `FAILED`, `ERROR`...). */
  byStatus: Record<string, number>;
  /** Each runner that joined the job, with how many inputs it holds unfinished. */
  runners: Array<{
    id: string;
    host: string;
    pid: number;
    /** `alive` holds a valid lease; `expired` missed it and will be taken over; `dead` was. */
    state: "alive" | "expired" | "dead";
    /** Unfinished inputs it holds. */
    holding: number;
  }>;
}

/**
 * Reads where a job stands, from any machine: inputs read, finished (by status), and its
 * runners with their leases. Answers undefined for a job that does not exist.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { jobStatus } from "@extendkit/postgres/batch";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const status = await jobStatus(pool, "march-invoices");
 * if (status && status.finished === status.inputs) console.log("done");
 * ```
 */
export async function jobStatus(
  pool: PgQueryable,
  job: string,
  schema = "extendkit",
): Promise<JobStatus | undefined> {
  const s = quoteSchema(schema);
  const [found] = (
    await pool.query(`SELECT workflow_id FROM ${s}.batch_jobs WHERE name = $1`, [job])
  ).rows;
  if (!found) return undefined;
  const counts = (
    await pool.query(
      `SELECT count(*)::int AS inputs, count(*) FILTER (WHERE finished)::int AS finished FROM ${s}.batch_inputs WHERE job = $1`,
      [job],
    )
  ).rows[0];
  const statuses = (
    await pool.query(
      `SELECT outcome->>'status' AS status, count(*)::int AS n FROM ${s}.batch_inputs WHERE job = $1 AND finished GROUP BY 1 ORDER BY 1`,
      [job],
    )
  ).rows;
  const runners = (
    await pool.query(
      `SELECT r.id, r.host, r.pid, r.dead, r.lease_until < (extract(epoch from clock_timestamp()) * 1000)::bigint AS expired,
         (SELECT count(*)::int FROM ${s}.batch_inputs i WHERE i.job = r.job AND i.owner = r.id AND NOT i.finished) AS holding
       FROM ${s}.batch_runners r WHERE r.job = $1 ORDER BY r.started_at`,
      [job],
    )
  ).rows;
  return {
    job,
    workflowId: found.workflow_id,
    inputs: counts.inputs,
    finished: counts.finished,
    byStatus: Object.fromEntries(statuses.map((r) => [r.status, r.n])),
    runners: runners.map((r) => ({
      id: r.id,
      host: r.host,
      pid: r.pid,
      state: r.dead ? "dead" : r.expired ? "expired" : "alive",
      holding: r.holding,
    })),
  };
}

/**
 * Options of {@link connectJob}.
 *
 * @example
 * ```ts
 * const shared = await connectJob("postgres://127.0.0.1/test", { job: "march", perSecond: 5 });
 * ```
 */
export interface ConnectJobOptions {
  /** The job's name. */
  job: string;
  /** Submission requests per second for every runner together; no shared gate without it. */
  perSecond?: number;
  /** How long a runner holds its inputs without renewing its lease. @default 30000 */
  leaseMs?: number;
  /** The Postgres schema. @default "extendkit" */
  schema?: string;
}

/**
 * Connects to PostgreSQL by URL (with `pg`, which must be installed), migrates the schema,
 * and answers the job's journal and, with `perSecond`, its shared rate gate: what the
 * `extendkit batch` CLI uses for `--journal postgres://...`. `close()` ends the pool.
 *
 * @example
 * ```ts
 * import { runBatch } from "@extendkit/batch";
 * import { connectJob } from "@extendkit/postgres/batch";
 *
 * const shared = await connectJob(process.env.DATABASE_URL!, { job: "march", perSecond: 5 });
 * await runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: ["invoices/0001.pdf"],
 *   journal: shared.journal,
 *   ...(shared.rateGate ? { rateGate: shared.rateGate } : {}),
 * }).done();
 * await shared.close();
 * ```
 */
export async function connectJob(
  url: string,
  options: ConnectJobOptions,
): Promise<{
  pool: PgPool;
  journal: BatchJournal;
  rateGate?: SharedRateGate;
  close(): Promise<void>;
}> {
  const pool = await poolFor(url, 4);
  await migrate(pool as never, options.schema === undefined ? {} : { schema: options.schema });
  const schema = options.schema ?? "extendkit";
  return {
    pool,
    journal: createPostgresJournal(pool, {
      job: options.job,
      schema,
      ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
    }),
    ...(options.perSecond !== undefined
      ? {
          rateGate: createPostgresRateGate(pool, {
            name: options.job,
            perSecond: options.perSecond,
            schema,
          }),
        }
      : {}),
    close: () => pool.end(),
  };
}

/**
 * Connects to PostgreSQL by URL (with `pg`) to read jobs from any machine: what
 * `extendkit batch status` and `extendkit batch results` use. `close()` ends the pool.
 *
 * @example
 * ```ts
 * const reader = await connectReader(process.env.DATABASE_URL!);
 * console.log(await reader.status("march"));
 * await reader.close();
 * ```
 */
export async function connectReader(
  url: string,
  schema = "extendkit",
): Promise<{
  status(job: string): Promise<JobStatus | undefined>;
  outcomes(job: string): AsyncGenerator<BatchOutcome>;
  close(): Promise<void>;
}> {
  const pool = await poolFor(url, 2);
  return {
    status: (job) => jobStatus(pool, job, schema),
    outcomes: (job) => jobOutcomes(pool, job, schema),
    close: () => pool.end(),
  };
}

async function poolFor(url: string, max: number) {
  const pg = await import("pg").catch(() => {
    throw new Error("A postgres:// journal needs the pg package: npm install pg");
  });
  const Pool = (pg.default ?? pg).Pool;
  const pool = new Pool({ connectionString: url, max }) as unknown as PgPool & {
    end(): Promise<void>;
    on(event: "error", listener: (error: Error) => void): void;
  };
  // An idle client that the server drops must not crash the process.
  pool.on("error", () => {});
  return pool;
}
