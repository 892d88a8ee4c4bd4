import type { Schemas } from "@extendkit/core";
import Database from "libsql";
import { badRequest } from "./errors.js";

/** The API object stored for each kind of resource. */
export interface KindTypes {
  file: Schemas["File"];
  workflow: Schemas["Workflow"];
  workflow_run: Schemas["WorkflowRun"];
  processor: Schemas["Processor"];
  processor_version: Schemas["ProcessorVersion"];
  processor_run: Schemas["ProcessorRun"];
  // The emulator always sends `object`, which the spec makes optional on the bare parse answers.
  parser_run:
    | (Schemas["ParserRun"] & { object: "parser_run" })
    | (Schemas["ParserRunStatus"] & { object: "parser_run_status" });
  edit_run: Schemas["EditRun"] | Schemas["EditRunStatus"];
  edit_template: Schemas["EditTemplate"];
  evaluation_set: Schemas["EvaluationSet"];
  evaluation_set_item: Schemas["EvaluationSetItem"];
  batch_processor_run: Schemas["BatchProcessorRun"];
}
export type Kind = keyof KindTypes;

/** Indexed columns that list filters and pagination read. */
export interface IndexFields {
  parentId?: string | null;
  batchId?: string | null;
  sourceId?: string | null;
  source?: string | null;
  status?: string | null;
  name?: string | null;
  type?: string | null;
}

export interface Stored<K extends Kind, I = Record<string, unknown>> {
  id: string;
  data: KindTypes[K];
  internal: I;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: string;
  data: string;
  internal: string;
  created_at: string;
  updated_at: string;
  seq: number;
}

export interface ListQuery {
  filters?: Partial<Record<keyof IndexFields, string | undefined>>;
  /** Case-insensitive substring of the `name` column. */
  nameContains?: string;
  sortBy?: "updatedAt" | "createdAt";
  sortDir?: "asc" | "desc";
  maxPageSize?: number;
  nextPageToken?: string;
}

const COLUMNS: Record<keyof IndexFields, string> = {
  parentId: "parent_id",
  batchId: "batch_id",
  sourceId: "source_id",
  source: "source",
  status: "status",
  name: "name",
  type: "type",
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS resources (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  parent_id TEXT, batch_id TEXT, source_id TEXT, source TEXT, status TEXT, name TEXT, type TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data TEXT NOT NULL,
  internal TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS resources_by_updated ON resources (kind, updated_at, seq);
CREATE INDEX IF NOT EXISTS resources_by_created ON resources (kind, created_at, seq);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (kind, parent_id);
CREATE INDEX IF NOT EXISTS resources_by_batch ON resources (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_by_source ON resources (kind, source_id) WHERE source_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS jobs (
  resource_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  priority INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued'
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, priority, seq);
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS webhook_attempts (
  delivery_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at TEXT NOT NULL,
  status INTEGER,
  error TEXT,
  duration_ms REAL NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layouts (file_id TEXT PRIMARY KEY, layout TEXT NOT NULL);
`;

/** The emulator's state: one SQLite database (a file, or `:memory:`). */
export class Store {
  readonly db: Database.Database;
  private seq: number;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    this.db = new Database(path);
    if (path !== ":memory:") this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = NORMAL");
    this.db.exec(SCHEMA);
    const max = this.db
      .prepare(
        "SELECT MAX(s) AS s FROM (SELECT MAX(seq) AS s FROM resources UNION ALL SELECT MAX(seq) FROM webhook_deliveries)",
      )
      .get() as { s: number | null };
    this.seq = max.s ?? 0;
  }

  close() {
    this.db.close();
  }

  /** A prepared statement, cached by its SQL. */
  sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  nextSeq() {
    this.seq += 1;
    return this.seq;
  }

  private depth = 0;

  /** Runs `fn` in one transaction: everything it writes lands together or not at all.
   * Nested calls join the outer transaction. */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) return fn();
    this.depth += 1;
    try {
      return this.db.transaction(fn)();
    } finally {
      this.depth -= 1;
    }
  }

  insert<K extends Kind>(
    kind: K,
    id: string,
    data: KindTypes[K],
    index: IndexFields = {},
    internal: object = {},
    now = new Date().toISOString(),
  ) {
    this.sql(
      `INSERT INTO resources (id, kind, parent_id, batch_id, source_id, source, status, name, type, created_at, updated_at, seq, data, internal)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      kind,
      index.parentId ?? null,
      index.batchId ?? null,
      index.sourceId ?? null,
      index.source ?? null,
      index.status ?? null,
      index.name ?? null,
      index.type ?? null,
      now,
      now,
      this.nextSeq(),
      JSON.stringify(data),
      JSON.stringify(internal),
    );
  }

  /** Replaces a resource's data (and optionally internal state and index), bumping `updated_at`. */
  update<K extends Kind>(
    kind: K,
    id: string,
    data: KindTypes[K],
    changes: { index?: IndexFields; internal?: object; now?: string } = {},
  ) {
    const now = changes.now ?? new Date().toISOString();
    const sets = ["data = ?", "updated_at = ?", "seq = ?"];
    const values: unknown[] = [JSON.stringify(data), now, this.nextSeq()];
    if (changes.internal) {
      sets.push("internal = ?");
      values.push(JSON.stringify(changes.internal));
    }
    for (const [field, column] of Object.entries(COLUMNS)) {
      const value = changes.index?.[field as keyof IndexFields];
      if (value !== undefined) {
        sets.push(`${column} = ?`);
        values.push(value);
      }
    }
    const result = this.sql(
      `UPDATE resources SET ${sets.join(", ")} WHERE id = ? AND kind = ?`,
    ).run(...values, id, kind);
    return result.changes > 0;
  }

  get<K extends Kind, I = Record<string, unknown>>(kind: K, id: string): Stored<K, I> | undefined {
    const row = this.sql(
      "SELECT id, data, internal, created_at, updated_at, seq FROM resources WHERE id = ? AND kind = ?",
    ).get(id, kind) as Row | undefined;
    return row ? toStored(row) : undefined;
  }

  delete(kind: Kind, id: string) {
    if (kind === "file") this.sql("DELETE FROM layouts WHERE file_id = ?").run(id);
    return this.sql("DELETE FROM resources WHERE id = ? AND kind = ?").run(id, kind).changes > 0;
  }

  // ------------------------------------------------------------------ file layouts
  // A file's text layout is read once and kept apart from the file's row, which is read
  // far more often and stays small.

  getLayout<T>(fileId: string): T | undefined {
    const row = this.sql("SELECT layout FROM layouts WHERE file_id = ?").get(fileId) as
      | { layout: string }
      | undefined;
    return row ? (JSON.parse(row.layout) as T) : undefined;
  }

  setLayout(fileId: string, layout: unknown) {
    this.sql("INSERT OR REPLACE INTO layouts (file_id, layout) VALUES (?, ?)").run(
      fileId,
      JSON.stringify(layout),
    );
  }

  /** Every resource of a kind matching exact-value filters, oldest first (no pagination). */
  all<K extends Kind, I = Record<string, unknown>>(
    kind: K,
    filters: ListQuery["filters"] = {},
  ): Stored<K, I>[] {
    const { where, values } = conditions(kind, filters);
    const rows = this.sql(
      `SELECT id, data, internal, created_at, updated_at, seq FROM resources WHERE ${where} ORDER BY seq`,
    ).all(...values) as Row[];
    return rows.map((row) => toStored(row));
  }

  /** One page of a kind, filtered and sorted, following a `nextPageToken` cursor. */
  listStored<K extends Kind, I = Record<string, unknown>>(
    kind: K,
    query: ListQuery,
  ): { items: Stored<K, I>[]; nextPageToken?: string } {
    const { where, values } = conditions(kind, query.filters ?? {});
    const clauses = [where];
    if (query.nameContains) {
      clauses.push("instr(lower(name), lower(?)) > 0");
      values.push(query.nameContains);
    }
    const column = query.sortBy === "createdAt" ? "created_at" : "updated_at";
    // Ties are broken by a value that moves with the sort column: `seq` is bumped with every
    // update (as `updated_at` is), while `rowid` is fixed at insert (as `created_at` is), so
    // a createdAt walk stays complete when runs are updated between pages.
    const tiebreak = column === "created_at" ? "rowid" : "seq";
    const desc = query.sortDir !== "asc";
    if (query.nextPageToken) {
      const cursor = decodeCursor(query.nextPageToken);
      clauses.push(`(${column}, ${tiebreak}) ${desc ? "<" : ">"} (?, ?)`);
      values.push(cursor.value, cursor.seq);
    }
    const limit = query.maxPageSize ?? 10;
    const order = desc ? "DESC" : "ASC";
    const rows = this.sql(
      `SELECT id, data, internal, created_at, updated_at, seq, ${tiebreak} AS tiebreak FROM resources WHERE ${clauses.join(" AND ")}
       ORDER BY ${column} ${order}, ${tiebreak} ${order} LIMIT ?`,
    ).all(...values, limit + 1) as (Row & { tiebreak: number })[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => toStored<K, I>(row)),
      ...(rows.length > limit && last
        ? {
            nextPageToken: encodeCursor(
              column === "created_at" ? last.created_at : last.updated_at,
              last.tiebreak,
            ),
          }
        : {}),
    };
  }

  // ------------------------------------------------------------------ jobs

  enqueue(resourceId: string, kind: string, priority: number) {
    this.sql(
      "INSERT OR REPLACE INTO jobs (resource_id, kind, priority, seq, state) VALUES (?, ?, ?, ?, 'queued')",
    ).run(resourceId, kind, priority, this.nextSeq());
  }

  /** Takes the next queued job: lowest priority number first, then oldest. */
  claimJob(): { resourceId: string; kind: string } | undefined {
    return this.transaction(() => {
      const row = this.sql(
        "SELECT resource_id, kind FROM jobs WHERE state = 'queued' ORDER BY priority, seq LIMIT 1",
      ).get() as { resource_id: string; kind: string } | undefined;
      if (!row) return undefined;
      this.sql("UPDATE jobs SET state = 'running' WHERE resource_id = ?").run(row.resource_id);
      return { resourceId: row.resource_id, kind: row.kind };
    });
  }

  finishJob(resourceId: string) {
    this.sql("DELETE FROM jobs WHERE resource_id = ?").run(resourceId);
  }

  /** After a restart, work that was running is queued again so it finishes. */
  requeueRunningJobs() {
    return this.sql("UPDATE jobs SET state = 'queued' WHERE state = 'running'").run().changes;
  }

  queuedJobs() {
    return (this.sql("SELECT COUNT(*) AS n FROM jobs").get() as { n: number }).n;
  }

  // ------------------------------------------------------------------ settings

  getSetting<T>(key: string): T | undefined {
    const row = this.sql("SELECT value FROM settings WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  setSetting(key: string, value: unknown) {
    this.sql("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)").run(
      key,
      JSON.stringify(value),
    );
  }
}

function conditions(kind: Kind, filters: ListQuery["filters"] = {}) {
  const clauses = ["kind = ?"];
  const values: unknown[] = [kind];
  for (const [field, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    clauses.push(`${COLUMNS[field as keyof IndexFields]} = ?`);
    values.push(value);
  }
  return { where: clauses.join(" AND "), values };
}

function toStored<K extends Kind, I>(row: Row): Stored<K, I> {
  return {
    id: row.id,
    data: JSON.parse(row.data),
    internal: JSON.parse(row.internal),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

// The cursor is two base64 strings joined by ":" (the sort value and a tiebreaker), the
// format of the service's tokens.
function encodeCursor(value: string, seq: number) {
  return `${Buffer.from(value).toString("base64")}:${Buffer.from(String(seq)).toString("base64")}`;
}

function decodeCursor(token: string): { value: string; seq: number } {
  const [a, b, extra] = token.split(":");
  const value = a ? Buffer.from(a, "base64").toString() : "";
  const seq = b ? Number(Buffer.from(b, "base64").toString()) : Number.NaN;
  // The sort value is always a timestamp this store wrote (an ISO string).
  const timestamp = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(value) && !Number.isNaN(Date.parse(value));
  if (extra !== undefined || !timestamp || !Number.isInteger(seq)) {
    throw badRequest(
      "Invalid request: query.nextPageToken is not a token this API returned; pass the nextPageToken of the previous page unchanged.",
    );
  }
  return { value, seq };
}
