import { hostname } from "node:os";
import type {
  BatchJournal,
  BatchOutcome,
  ClaimResult,
  InputSource,
  JournalChunk,
  JournalEntry,
  JournalJob,
  TakeOver,
} from "@extendkit/batch";
import { JournalMismatchError, LeaseLostError } from "@extendkit/batch";

import type { Queryable } from "../queryable.js";
import { quoteSchema } from "../sql.js";

/**
 * What the journal needs of a client: `pg`'s `Pool`, `Client` and `PoolClient` all fit (a
 * {@link Queryable} whose rows the journal reads by column).
 */
export interface PgQueryable {
  /** Runs one statement with `$1`-style parameters. */
  // biome-ignore lint/suspicious/noExplicitAny: rows are read by column name, as pg types them
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

/**
 * A pool of clients (`pg.Pool`): the journal's writes are transactions (they check the
 * runner's lease and write in one), which take one client with `connect()`.
 */
export interface PgPool extends PgQueryable {
  /** Checks out one client; `release()` gives it back. */
  connect(): Promise<PgQueryable & { release(error?: Error | boolean): void }>;
}

/** The database's clock, in milliseconds since the epoch: leases are taken on it. */
export const DB_NOW = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/**
 * Options of {@link createPostgresJournal}.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { createPostgresJournal } from "@extendkit/postgres/batch";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const journal = createPostgresJournal(pool, { job: "march-invoices", leaseMs: 30_000 });
 * ```
 */
export interface PostgresJournalOptions {
  /** The job's name: every runner started with the same name (and workflow) joins one job. */
  job: string;
  /**
   * The Postgres schema the package's tables live in.
   * @default "extendkit"
   */
  schema?: string;
  /**
   * How long a runner holds its inputs without renewing its lease. A runner silent for longer
   * (killed, or paused: a long GC, SIGSTOP) loses them to the others; it renews every third
   * of this.
   * @default 30000
   */
  leaseMs?: number;
  /** This runner's id in the job (shown by `status`). @default host, pid and a random part */
  runnerId?: string;
}

interface InputRow {
  key: string;
  seq: string;
  owner: string;
  source: InputSource;
  metadata: Record<string, unknown> | null;
  file_id: string | null;
  chunk_id: string | null;
  run_id: string | null;
  finished: boolean;
}

interface ChunkRow {
  id: string;
  state: "pending" | "submitted";
  batch_id: string | null;
  attempt_at: string;
  in_flight_until: string | null;
}

const toEntry = (row: InputRow): JournalEntry => ({
  key: row.key,
  seq: Number(row.seq),
  source: row.source,
  ...(row.metadata ? { metadata: row.metadata } : {}),
  ...(row.file_id ? { fileId: row.file_id } : {}),
  ...(row.chunk_id ? { chunkId: row.chunk_id } : {}),
  ...(row.run_id ? { runId: row.run_id } : {}),
  finished: row.finished,
});

const toChunk = (row: ChunkRow): JournalChunk => ({
  id: row.id,
  state: row.state,
  attemptAt: Number(row.attempt_at),
  ...(row.batch_id ? { batchId: row.batch_id } : {}),
  ...(row.in_flight_until !== null ? { inFlightUntil: Number(row.in_flight_until) } : {}),
});

/**
 * A batch journal in PostgreSQL that several runners, on several machines, share for one
 * job. Each runner reads the same inputs; the first to claim an input holds it, under the
 * runner's lease, and only its holder uploads, submits and records it. A runner that dies
 * (or pauses past its lease) is declared dead by the next runner that looks, and its
 * unfinished inputs, submissions in flight included, pass to that runner, which reconciles
 * them before sending anything. Every write checks, in its own transaction, that the writer
 * still holds its lease (fencing): a runner that wakes from a long pause records and submits
 * nothing more, and fails with `LeaseLostError`.
 *
 * Migrate first (`migrate(pool)`): the journal uses the package's tables.
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
 * const job = runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: ["invoices/0001.pdf", "invoices/0002.pdf"],
 *   journal: createPostgresJournal(pool, { job: "march-invoices" }),
 *   rateGate: createPostgresRateGate(pool, { name: "march-invoices", perSecond: 5 }),
 * });
 * await job.done();
 * ```
 */
export function createPostgresJournal(pool: PgPool, options: PostgresJournalOptions): BatchJournal {
  const s = quoteSchema(options.schema ?? "extendkit");
  const name = options.job;
  if (typeof name !== "string" || name === "")
    throw new TypeError(
      'createPostgresJournal: pass `job`, the job\'s name (e.g. "march-invoices").',
    );
  const leaseMs = options.leaseMs ?? 30_000;
  if (!(leaseMs >= 100))
    throw new RangeError(`createPostgresJournal: leaseMs must be 100 or more; got ${leaseMs}.`);
  const me =
    options.runnerId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let fenced = false;
  let heartbeat: ReturnType<typeof setInterval> | undefined;

  const lost = () =>
    new LeaseLostError(
      `Runner ${me} lost its lease on job ${name}: it was silent for more than ${leaseMs} ms (a pause such as a long GC or SIGSTOP, or an unreachable database), and another runner took over its inputs. It records and submits nothing more; the other runners finish the job.`,
    );

  /**
   * Runs `work` in a transaction that first checks, holding a share lock on this runner's
   * row, that no other runner has declared it dead: declaring it dead updates that row, so it
   * waits for the write to end, and every write after that is refused. A runner whose lease
   * merely ran out (a slow machine) goes on until another runner actually takes over.
   */
  async function guarded<T>(work: (client: PgQueryable) => Promise<T>): Promise<T> {
    if (fenced) throw lost();
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const alive = await client.query(
        `SELECT 1 FROM ${s}.batch_runners WHERE job = $1 AND id = $2 AND NOT dead FOR SHARE`,
        [name, me],
      );
      if (alive.rowCount === 0) {
        fenced = true;
        throw lost();
      }
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async function renew(): Promise<void> {
    if (fenced) return;
    const renewed = await pool.query(
      `UPDATE ${s}.batch_runners SET lease_until = ${DB_NOW} + $3 WHERE job = $1 AND id = $2 AND NOT dead`,
      [name, me, leaseMs],
    );
    if (renewed.rowCount === 0) fenced = true;
  }

  const select = async (sql: string, values: unknown[]) => (await pool.query(sql, values)).rows;

  return {
    async open(wanted: JournalJob) {
      await pool.query(
        `INSERT INTO ${s}.batch_jobs (name, workflow_id, version, mode) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
        [name, wanted.workflowId, wanted.version ?? null, wanted.mode],
      );
      const [found] = await select(
        `SELECT workflow_id, version, mode FROM ${s}.batch_jobs WHERE name = $1`,
        [name],
      );
      const same =
        found.workflow_id === wanted.workflowId &&
        (found.version ?? "") === (wanted.version ?? "") &&
        found.mode === wanted.mode;
      if (!same)
        throw new JournalMismatchError(
          `The Postgres job ${JSON.stringify(name)} runs ${found.workflow_id}${found.version ? `@${found.version}` : ""} in ${found.mode} mode, not ${wanted.workflowId}${wanted.version ? `@${wanted.version}` : ""} in ${wanted.mode} mode; use another job name.`,
        );
      await pool.query(
        `INSERT INTO ${s}.batch_runners (job, id, host, pid, lease_until) VALUES ($1, $2, $3, $4, ${DB_NOW} + $5)`,
        [name, me, hostname(), process.pid, leaseMs],
      );
      heartbeat = setInterval(
        () => {
          renew().catch(() => {});
        },
        Math.max(50, Math.floor(leaseMs / 3)),
      );
      heartbeat.unref?.();
      const [{ n }] = await select(
        `SELECT count(*)::int AS n FROM ${s}.batch_inputs WHERE job = $1`,
        [name],
      );
      return { inputs: n as number, epoch: 1, shared: true };
    },

    claim(input): Promise<ClaimResult> {
      return guarded(async (client) => {
        const inserted = await client.query(
          `INSERT INTO ${s}.batch_inputs (job, key, owner, source, metadata) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job, key) DO NOTHING`,
          [
            name,
            input.key,
            me,
            JSON.stringify(input.source),
            input.metadata ? JSON.stringify(input.metadata) : null,
          ],
        );
        if (inserted.rowCount === 1) return { state: "new" };
        const { rows } = await client.query(
          `SELECT owner FROM ${s}.batch_inputs WHERE job = $1 AND key = $2`,
          [name, input.key],
        );
        return rows[0]?.owner === me ? { state: "duplicate" } : { state: "elsewhere" };
      });
    },

    async setFile(key, fileId) {
      await guarded((c) =>
        c.query(
          `UPDATE ${s}.batch_inputs SET file_id = $3 WHERE job = $1 AND key = $2 AND owner = $4`,
          [name, key, fileId, me],
        ),
      );
    },

    async beginChunk({ id, attemptAt, keys }) {
      await guarded(async (c) => {
        await c.query(
          `INSERT INTO ${s}.batch_chunks (job, id, state, attempt_at) VALUES ($1, $2, 'pending', $3) ON CONFLICT (job, id) DO UPDATE SET attempt_at = excluded.attempt_at`,
          [name, id, Math.floor(attemptAt)],
        );
        await c.query(
          `UPDATE ${s}.batch_inputs SET chunk_id = $2 WHERE job = $1 AND key = ANY($3) AND owner = $4`,
          [name, id, keys, me],
        );
      });
    },

    async chunkInFlight(id, until) {
      await guarded((c) =>
        c.query(`UPDATE ${s}.batch_chunks SET in_flight_until = $3 WHERE job = $1 AND id = $2`, [
          name,
          id,
          Math.ceil(until),
        ]),
      );
    },

    async chunkSubmitted(id, result) {
      await guarded(async (c) => {
        await c.query(
          `UPDATE ${s}.batch_chunks SET state = 'submitted', batch_id = $3 WHERE job = $1 AND id = $2`,
          [name, id, result.batchId ?? null],
        );
        const runs = result.runs ?? [];
        if (runs.length > 0)
          await c.query(
            `UPDATE ${s}.batch_inputs AS i SET run_id = r.run_id FROM unnest($2::text[], $3::text[]) AS r (key, run_id) WHERE i.job = $1 AND i.key = r.key AND i.owner = $4`,
            [name, runs.map(([key]) => key), runs.map(([, runId]) => runId), me],
          );
      });
    },

    async dropChunk(id) {
      await guarded(async (c) => {
        await c.query(
          `UPDATE ${s}.batch_inputs SET chunk_id = NULL WHERE job = $1 AND chunk_id = $2 AND owner = $3`,
          [name, id, me],
        );
        await c.query(`DELETE FROM ${s}.batch_chunks WHERE job = $1 AND id = $2`, [name, id]);
      });
    },

    finish(outcome: BatchOutcome) {
      return guarded(async (c) => {
        const done = await c.query(
          `UPDATE ${s}.batch_inputs SET finished = true, run_id = COALESCE($3, run_id), outcome = $4 WHERE job = $1 AND key = $2 AND NOT finished AND owner = $5`,
          [name, outcome.key, outcome.runId ?? null, JSON.stringify(outcome), me],
        );
        return (done.rowCount ?? 0) > 0;
      });
    },

    async entry(key) {
      const [row] = await select(`SELECT * FROM ${s}.batch_inputs WHERE job = $1 AND key = $2`, [
        name,
        key,
      ]);
      return row ? toEntry(row as InputRow) : undefined;
    },

    async keyOfRun(runId) {
      const [row] = await select(
        `SELECT key FROM ${s}.batch_inputs WHERE job = $1 AND run_id = $2`,
        [name, runId],
      );
      return row?.key;
    },

    async chunkOfBatch(batchId) {
      const [row] = await select(
        `SELECT id FROM ${s}.batch_chunks WHERE job = $1 AND batch_id = $2`,
        [name, batchId],
      );
      return row?.id;
    },

    async chunkEntries(chunkId) {
      const rows = await select(
        `SELECT * FROM ${s}.batch_inputs WHERE job = $1 AND chunk_id = $2 ORDER BY seq`,
        [name, chunkId],
      );
      return (rows as InputRow[]).map(toEntry);
    },

    async openChunks() {
      const rows = await select(
        `SELECT * FROM ${s}.batch_chunks WHERE job = $1 AND id IN (SELECT chunk_id FROM ${s}.batch_inputs WHERE job = $1 AND owner = $2 AND NOT finished AND chunk_id IS NOT NULL)`,
        [name, me],
      );
      return (rows as ChunkRow[]).map(toChunk);
    },

    outcomes: () => jobOutcomes(pool, name, options.schema ?? "extendkit"),

    async watchChunk(id, until) {
      await guarded((c) =>
        c.query(
          `UPDATE ${s}.batch_chunks SET watch_until = GREATEST(COALESCE(watch_until, 0), $3) WHERE job = $1 AND id = $2`,
          [name, id, Math.ceil(until)],
        ),
      );
    },

    async endWatch(id) {
      await guarded((c) =>
        c.query(`UPDATE ${s}.batch_chunks SET watch_until = NULL WHERE job = $1 AND id = $2`, [
          name,
          id,
        ]),
      );
    },

    async watchedChunks() {
      const rows = await select(
        `SELECT id, watch_until FROM ${s}.batch_chunks WHERE job = $1 AND watch_until IS NOT NULL`,
        [name],
      );
      return rows.map((r) => ({ id: r.id as string, until: Number(r.watch_until) }));
    },

    async addDuplicate({ key, runId, cancelled }) {
      await guarded((c) =>
        c.query(
          `INSERT INTO ${s}.batch_duplicates (job, run_id, key, cancelled) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
          [name, runId, key, cancelled],
        ),
      );
    },

    async duplicatesOf(key) {
      const rows = await select(
        `SELECT run_id, cancelled FROM ${s}.batch_duplicates WHERE job = $1 AND key = $2 ORDER BY run_id`,
        [name, key],
      );
      return rows.map((r) => ({ runId: r.run_id as string, cancelled: r.cancelled as boolean }));
    },

    takeOver(): Promise<TakeOver> {
      return guarded(async (c) => {
        // Runners silent past their lease are dead from now on: their writes are refused.
        // Never this runner itself, and never one stopped inside a write (a SIGSTOP holding
        // its row's share lock): waiting on it would hold this transaction, and with it this
        // runner's own heartbeat, for as long as that runner stays stopped, until this
        // runner's lease ran out too. It is skipped now and declared dead on a later try,
        // once its write has ended.
        await c.query(
          `UPDATE ${s}.batch_runners SET dead = true WHERE job = $1 AND id IN (
             SELECT id FROM ${s}.batch_runners
             WHERE job = $1 AND id <> $2 AND NOT dead AND lease_until < ${DB_NOW}
             FOR UPDATE SKIP LOCKED)`,
          [name, me],
        );
        const taken = await c.query(
          `UPDATE ${s}.batch_inputs SET owner = $2 WHERE job = $1 AND NOT finished AND owner IN (SELECT id FROM ${s}.batch_runners WHERE job = $1 AND dead) RETURNING *`,
          [name, me],
        );
        const rows = taken.rows as InputRow[];
        const chunkIds = [
          ...new Set(rows.map((r) => r.chunk_id).filter((id): id is string => !!id)),
        ];
        const chunks =
          chunkIds.length > 0
            ? (
                await c.query(`SELECT * FROM ${s}.batch_chunks WHERE job = $1 AND id = ANY($2)`, [
                  name,
                  chunkIds,
                ])
              ).rows.map((r) => toChunk(r as ChunkRow))
            : [];
        const open = await c.query(
          `SELECT count(*)::int AS n FROM ${s}.batch_inputs WHERE job = $1 AND NOT finished`,
          [name],
        );
        return {
          finished: open.rows[0].n === 0,
          chunks,
          entries: rows
            .filter((r) => !r.chunk_id)
            .sort((a, b) => Number(a.seq) - Number(b.seq))
            .map(toEntry),
        };
      });
    },

    async close() {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = undefined;
      // Gone for good: what it still held passes to the others at once, not after the lease.
      await pool
        .query(`UPDATE ${s}.batch_runners SET dead = true WHERE job = $1 AND id = $2`, [name, me])
        .catch(() => {});
    },
  };
}

/**
 * Every recorded outcome of a job, in input order, read in pages (constant memory), from any
 * machine: what `extendkit batch results` writes.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { jobOutcomes } from "@extendkit/postgres/batch";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * for await (const outcome of jobOutcomes(pool, "march-invoices")) console.log(outcome.status);
 * ```
 */
export async function* jobOutcomes(
  pool: PgQueryable,
  job: string,
  schema = "extendkit",
): AsyncGenerator<BatchOutcome> {
  const s = quoteSchema(schema);
  let after = 0;
  for (;;) {
    const { rows } = await pool.query(
      `SELECT seq, outcome FROM ${s}.batch_inputs WHERE job = $1 AND finished AND seq > $2 ORDER BY seq LIMIT 500`,
      [job, after],
    );
    if (rows.length === 0) return;
    for (const row of rows) yield row.outcome as BatchOutcome;
    after = Number(rows[rows.length - 1].seq);
  }
}
