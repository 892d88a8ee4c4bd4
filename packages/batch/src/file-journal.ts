import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "libsql";
import type { InputSource } from "./inputs.js";
import { type BatchJournal, checkJob, type JournalChunk, type JournalEntry } from "./journal.js";
import type { BatchOutcome } from "./types.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS job (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  workflow_id TEXT NOT NULL, version TEXT, mode TEXT NOT NULL, epoch INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS inputs (
  key TEXT PRIMARY KEY, seq INTEGER NOT NULL, epoch INTEGER NOT NULL,
  source TEXT NOT NULL, metadata TEXT, file_id TEXT, chunk_id TEXT, run_id TEXT,
  finished INTEGER NOT NULL DEFAULT 0, outcome TEXT
);
CREATE INDEX IF NOT EXISTS inputs_run ON inputs (run_id);
CREATE INDEX IF NOT EXISTS inputs_chunk ON inputs (chunk_id, finished);
CREATE INDEX IF NOT EXISTS inputs_seq ON inputs (seq);
CREATE TABLE IF NOT EXISTS chunks (
  id TEXT PRIMARY KEY, state TEXT NOT NULL, batch_id TEXT, attempt_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_batch ON chunks (batch_id);
CREATE TABLE IF NOT EXISTS duplicates (
  run_id TEXT PRIMARY KEY, key TEXT NOT NULL, cancelled INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS duplicates_key ON duplicates (key);
`;

interface InputRow {
  key: string;
  seq: number;
  epoch: number;
  source: string;
  metadata: string | null;
  file_id: string | null;
  chunk_id: string | null;
  run_id: string | null;
  finished: number;
}

function toEntry(row: InputRow): JournalEntry {
  return {
    key: row.key,
    seq: row.seq,
    source: JSON.parse(row.source) as InputSource,
    ...(row.metadata ? { metadata: JSON.parse(row.metadata) } : {}),
    ...(row.file_id ? { fileId: row.file_id } : {}),
    ...(row.chunk_id ? { chunkId: row.chunk_id } : {}),
    ...(row.run_id ? { runId: row.run_id } : {}),
    finished: row.finished === 1,
  };
}

/**
 * The default journal: one SQLite file on local disk (WAL mode), written before every
 * submission, so a process killed at any instant, SIGKILL included, resumes without
 * sending an input twice. It holds each input's source, upload, run and outcome; memory
 * use does not grow with the number of inputs. While it is open, and after a crash, its
 * `-wal` and `-shm` files sit beside it and belong to it; `close()` folds them back in.
 *
 * @example
 * ```ts
 * const job = runBatch({ client: { token, baseUrl }, workflowId, inputs, journal: openFileJournal("invoices.journal") });
 * ```
 */
export function openFileJournal(path: string): BatchJournal {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.exec("PRAGMA journal_mode = WAL");
  // NORMAL loses nothing when the process dies, only on power loss; FULL would fsync
  // every submission.
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec(SCHEMA);
  // Journals written before duplicate watching have no watch column: add it.
  const columns = db.prepare("PRAGMA table_info(chunks)").all() as Array<{ name: string }>;
  for (const column of ["watch_until", "in_flight_until"])
    if (!columns.some((c) => c.name === column))
      db.exec(`ALTER TABLE chunks ADD COLUMN ${column} INTEGER`);
  const statements = new Map<string, Database.Statement>();
  const sql = (text: string) => {
    let statement = statements.get(text);
    if (!statement) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  };
  let seq = (sql("SELECT MAX(seq) AS s FROM inputs").get() as { s: number | null }).s ?? 0;

  return {
    async open(wanted) {
      const found = sql("SELECT workflow_id, version, mode, epoch FROM job").get() as
        | { workflow_id: string; version: string | null; mode: "runs" | "batch"; epoch: number }
        | undefined;
      if (found) {
        checkJob(
          {
            workflowId: found.workflow_id,
            ...(found.version ? { version: found.version } : {}),
            mode: found.mode,
          },
          wanted,
          `at ${path}`,
        );
        sql("UPDATE job SET epoch = epoch + 1").run();
      } else {
        sql("INSERT INTO job (id, workflow_id, version, mode, epoch) VALUES (1, ?, ?, ?, 1)").run(
          wanted.workflowId,
          wanted.version ?? null,
          wanted.mode,
        );
      }
      const { epoch } = sql("SELECT epoch FROM job").get() as { epoch: number };
      const { n } = sql("SELECT COUNT(*) AS n FROM inputs").get() as { n: number };
      return { inputs: n, epoch };
    },
    async claim(input, epoch) {
      const row = sql("SELECT * FROM inputs WHERE key = ?").get(input.key) as InputRow | undefined;
      if (!row) {
        sql("INSERT INTO inputs (key, seq, epoch, source, metadata) VALUES (?, ?, ?, ?, ?)").run(
          input.key,
          ++seq,
          epoch,
          JSON.stringify(input.source),
          input.metadata ? JSON.stringify(input.metadata) : null,
        );
        return { state: "new" };
      }
      if (row.epoch === epoch) return { state: "duplicate" };
      sql("UPDATE inputs SET epoch = ? WHERE key = ?").run(epoch, input.key);
      return { state: "known", entry: toEntry(row) };
    },
    async setFile(key, fileId) {
      sql("UPDATE inputs SET file_id = ? WHERE key = ?").run(fileId, key);
    },
    async beginChunk({ id, attemptAt, keys }) {
      db.transaction(() => {
        sql(
          "INSERT INTO chunks (id, state, attempt_at) VALUES (?, 'pending', ?) ON CONFLICT (id) DO UPDATE SET attempt_at = excluded.attempt_at",
        ).run(id, attemptAt);
        const assign = sql("UPDATE inputs SET chunk_id = ? WHERE key = ?");
        for (const key of keys) assign.run(id, key);
      })();
    },
    async chunkInFlight(id, until) {
      sql("UPDATE chunks SET in_flight_until = ? WHERE id = ?").run(until, id);
    },
    async chunkSubmitted(id, result) {
      db.transaction(() => {
        sql("UPDATE chunks SET state = 'submitted', batch_id = ? WHERE id = ?").run(
          result.batchId ?? null,
          id,
        );
        const assign = sql("UPDATE inputs SET run_id = ? WHERE key = ?");
        for (const [key, runId] of result.runs ?? []) assign.run(runId, key);
      })();
    },
    async dropChunk(id) {
      db.transaction(() => {
        sql("UPDATE inputs SET chunk_id = NULL WHERE chunk_id = ?").run(id);
        sql("DELETE FROM chunks WHERE id = ?").run(id);
      })();
    },
    async finish(outcome) {
      const done = sql(
        "UPDATE inputs SET finished = 1, run_id = COALESCE(?, run_id), outcome = ? WHERE key = ? AND finished = 0",
      ).run(outcome.runId ?? null, JSON.stringify(outcome), outcome.key);
      return done.changes > 0;
    },
    async entry(key) {
      const row = sql("SELECT * FROM inputs WHERE key = ?").get(key) as InputRow | undefined;
      return row ? toEntry(row) : undefined;
    },
    async keyOfRun(runId) {
      const row = sql("SELECT key FROM inputs WHERE run_id = ?").get(runId) as
        | { key: string }
        | undefined;
      return row?.key;
    },
    async chunkOfBatch(batchId) {
      const row = sql("SELECT id FROM chunks WHERE batch_id = ?").get(batchId) as
        | { id: string }
        | undefined;
      return row?.id;
    },
    async chunkEntries(chunkId) {
      return (
        sql("SELECT * FROM inputs WHERE chunk_id = ? ORDER BY seq").all(chunkId) as InputRow[]
      ).map(toEntry);
    },
    async openChunks() {
      const rows = sql(
        "SELECT * FROM chunks WHERE id IN (SELECT DISTINCT chunk_id FROM inputs WHERE finished = 0 AND chunk_id IS NOT NULL)",
      ).all() as Array<{
        id: string;
        state: "pending" | "submitted";
        batch_id: string | null;
        attempt_at: number;
        in_flight_until: number | null;
      }>;
      return rows.map(
        (r): JournalChunk => ({
          id: r.id,
          state: r.state,
          attemptAt: r.attempt_at,
          ...(r.batch_id ? { batchId: r.batch_id } : {}),
          ...(r.in_flight_until !== null ? { inFlightUntil: r.in_flight_until } : {}),
        }),
      );
    },
    async *outcomes() {
      // Paged by seq so a journal of any size is read in constant memory.
      let after = 0;
      for (;;) {
        const rows = sql(
          "SELECT seq, outcome FROM inputs WHERE finished = 1 AND seq > ? ORDER BY seq LIMIT 500",
        ).all(after) as Array<{ seq: number; outcome: string }>;
        if (rows.length === 0) return;
        for (const row of rows) yield JSON.parse(row.outcome) as BatchOutcome;
        after = rows[rows.length - 1]?.seq ?? after;
      }
    },
    async watchChunk(id, until) {
      sql("UPDATE chunks SET watch_until = MAX(COALESCE(watch_until, 0), ?) WHERE id = ?").run(
        until,
        id,
      );
    },
    async endWatch(id) {
      sql("UPDATE chunks SET watch_until = NULL WHERE id = ?").run(id);
    },
    async watchedChunks() {
      return (
        sql("SELECT id, watch_until FROM chunks WHERE watch_until IS NOT NULL").all() as Array<{
          id: string;
          watch_until: number;
        }>
      ).map((r) => ({ id: r.id, until: r.watch_until }));
    },
    async addDuplicate({ key, runId, cancelled }) {
      sql("INSERT OR IGNORE INTO duplicates (run_id, key, cancelled) VALUES (?, ?, ?)").run(
        runId,
        key,
        cancelled ? 1 : 0,
      );
    },
    async duplicatesOf(key) {
      return (
        sql("SELECT run_id, cancelled FROM duplicates WHERE key = ? ORDER BY run_id").all(
          key,
        ) as Array<{ run_id: string; cancelled: number }>
      ).map((r) => ({ runId: r.run_id, cancelled: r.cancelled === 1 }));
    },
    async close() {
      // While a job runs the journal is three files: the database and SQLite's -wal and -shm
      // beside it. SQLite folds them back and removes them when its last connection closes,
      // but libsql's close() leaves the connection open for as long as a statement prepared
      // on it lives (until garbage collection, so never before the CLI exits). Leaving WAL
      // mode does the same work now: the log is written into the database and both files are
      // removed, so a finished or stopped job is one file that can be moved on its own. (The
      // next open turns WAL back on.)
      try {
        db.exec("PRAGMA journal_mode = DELETE");
      } catch {
        // Another connection has the journal open: it removes the files when it closes.
      }
      // Lets the statements, and with them the connection, be collected.
      statements.clear();
      db.close();
    },
  };
}
