import { quoteSchema } from "../sql.js";

/** The tables of the batch journal and the rate gate, as a migration of the package's schema. */
export function batchTables(schema: string): string {
  const s = quoteSchema(schema);
  return `
CREATE TABLE ${s}.batch_jobs (
  name text PRIMARY KEY,
  workflow_id text NOT NULL,
  version text,
  mode text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ${s}.batch_runners (
  job text NOT NULL REFERENCES ${s}.batch_jobs (name) ON DELETE CASCADE,
  id text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  lease_until bigint NOT NULL,
  dead boolean NOT NULL DEFAULT false,
  started_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job, id)
);
CREATE TABLE ${s}.batch_inputs (
  job text NOT NULL REFERENCES ${s}.batch_jobs (name) ON DELETE CASCADE,
  key text NOT NULL,
  seq bigserial NOT NULL,
  owner text NOT NULL,
  source jsonb NOT NULL,
  metadata jsonb,
  file_id text,
  chunk_id text,
  run_id text,
  finished boolean NOT NULL DEFAULT false,
  outcome jsonb,
  PRIMARY KEY (job, key)
);
CREATE INDEX batch_inputs_seq ON ${s}.batch_inputs (job, seq);
CREATE INDEX batch_inputs_run ON ${s}.batch_inputs (job, run_id);
CREATE INDEX batch_inputs_chunk ON ${s}.batch_inputs (job, chunk_id);
CREATE INDEX batch_inputs_open ON ${s}.batch_inputs (job, owner) WHERE NOT finished;
CREATE TABLE ${s}.batch_chunks (
  job text NOT NULL REFERENCES ${s}.batch_jobs (name) ON DELETE CASCADE,
  id text NOT NULL,
  state text NOT NULL,
  batch_id text,
  attempt_at bigint NOT NULL,
  in_flight_until bigint,
  watch_until bigint,
  PRIMARY KEY (job, id)
);
CREATE INDEX batch_chunks_batch ON ${s}.batch_chunks (job, batch_id);
CREATE TABLE ${s}.batch_duplicates (
  job text NOT NULL REFERENCES ${s}.batch_jobs (name) ON DELETE CASCADE,
  run_id text NOT NULL,
  key text NOT NULL,
  cancelled boolean NOT NULL,
  PRIMARY KEY (job, run_id)
);
CREATE TABLE ${s}.rate_gates (
  name text PRIMARY KEY,
  next_at bigint NOT NULL DEFAULT 0,
  paused_until bigint NOT NULL DEFAULT 0
);
`;
}
