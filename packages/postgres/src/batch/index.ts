/**
 * `@extendkit/postgres/batch`: one batch job shared by several runners, on several machines,
 * through PostgreSQL: a journal with leases and fencing ({@link createPostgresJournal}), one
 * submission rate for every runner ({@link createPostgresRateGate}), and the job's status and
 * outcomes readable from anywhere. It needs `@extendkit/batch` and `pg`.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { runBatch } from "@extendkit/batch";
 * import { migrate } from "@extendkit/postgres";
 * import { createPostgresJournal, createPostgresRateGate } from "@extendkit/postgres/batch";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool);
 * await runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: ["invoices/0001.pdf", "invoices/0002.pdf"],
 *   journal: createPostgresJournal(pool, { job: "march-invoices" }),
 *   rateGate: createPostgresRateGate(pool, { name: "march-invoices", perSecond: 5 }),
 * }).done();
 * ```
 *
 * @packageDocumentation
 */
export {
  type ConnectJobOptions,
  connectJob,
  connectReader,
  type JobStatus,
  jobStatus,
} from "./job.js";
export {
  createPostgresJournal,
  jobOutcomes,
  type PgPool,
  type PgQueryable,
  type PostgresJournalOptions,
} from "./journal.js";
export { createPostgresRateGate, type PostgresRateGateOptions } from "./rate-gate.js";
