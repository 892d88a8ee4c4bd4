import type { ClientOptions } from "@extendkit/core";
import type { RetryPolicy } from "./call.js";
import type { RetryBudgetOptions } from "./gate.js";
import type { BatchInput } from "./inputs.js";
import type { BatchJournal, SharedRateGate } from "./journal.js";
import type { BatchStats } from "./stats.js";

/**
 * Options of {@link runBatch}. Only `workflowId` and `inputs` are required; the rest tune
 * submission, concurrency, retries and where the job is journaled.
 *
 * @example
 * ```ts
 * const job = runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: ["invoices/0001.pdf", { url: "https://example.com/invoices/0002.pdf" }],
 *   client: { token: process.env.EXTEND_API_KEY! },
 *   metadata: { source: "march-import" },
 *   journal: "march.journal",
 *   resume: true,
 *   out: "march-results.jsonl",
 *   onProgress: (stats) => console.log(`${stats.finished}/${stats.read} finished`),
 * });
 * const summary = await job.done();
 * ```
 */
export interface BatchOptions {
  /** The workflow every input runs through (`workflow_...`). */
  workflowId: string;
  /**
   * The workflow version to run, such as `"3"` or `"draft"`.
   * @default the latest published version, else the draft (the API's default)
   */
  version?: string;
  /**
   * The inputs, read one at a time as the job can take them: an array, a generator or any
   * async iterable (a directory walk, a database cursor, lines of a file).
   */
  inputs: Iterable<BatchInput> | AsyncIterable<BatchInput>;
  /**
   * The API client's options: `token` (default: the `EXTEND_API_KEY` environment variable),
   * `baseUrl`, `fetch`, `timeoutMs` and so on. The runner turns the client's own retries off:
   * its rate gate and retry budget take their place.
   */
  client?: Partial<Omit<ClientOptions, "retry" | "throwOnError">>;
  /**
   * `"batch"` sends up to 1,000 inputs per `POST /workflow_runs/batch` (the API runs them at
   * priority 90); `"runs"` sends up to 50 per
   * `POST /workflow_runs` and keeps `priority`.
   * @default "runs" when `priority` is given, else "batch"
   */
  mode?: "runs" | "batch";
  /**
   * Queue priority of the runs, 1 (first) to 100; runs mode only.
   * @default 50 (the API's default)
   */
  priority?: number;
  /** Metadata stored on every run; an input's own `metadata` is merged over it. */
  metadata?: Record<string, unknown>;
  /**
   * Inputs per submission request: at most 50 in runs mode, 1,000 in batch mode.
   * @default 50 in runs mode, 1000 in batch mode
   */
  chunkSize?: number;
  /**
   * How long a part-filled chunk waits for more inputs before it is sent anyway.
   * @default 200
   */
  lingerMs?: number;
  /**
   * Most submission requests in flight. Lowered by half on each throttle and raised again one
   * step per window of successes (AIMD).
   * @default 4
   */
  concurrency?: number;
  /**
   * Most uploads in flight (path inputs).
   * @default 8
   */
  uploadConcurrency?: number;
  /**
   * Most read requests (polling, fetching finished runs) in flight.
   * @default 8
   */
  readConcurrency?: number;
  /**
   * Most inputs read but without an outcome yet. Reading waits above it, which keeps memory
   * flat however many inputs there are.
   * @default 10000
   */
  maxInFlight?: number;
  /**
   * Where the job records what it has done: a path for the default SQLite journal, a
   * {@link BatchJournal}, or `false` for none (the job cannot resume).
   * @default ".extendkit/batch/<workflowId>.journal"
   */
  journal?: string | BatchJournal | false;
  /**
   * A submission rate shared with the job's other runners (such as `@extendkit/postgres`'s
   * `createPostgresRateGate`): every submission request, retries included, takes a slot from
   * it, and a 429's `Retry-After` pauses every runner. Without it, each runner paces itself.
   */
  rateGate?: SharedRateGate;
  /**
   * Continue the job recorded in the journal. Without it, a journal that already holds inputs
   * is refused rather than mixed with a new job.
   * @default false
   */
  resume?: boolean;
  /** The runner's retry rules for one request. */
  retry?: RetryPolicy;
  /** The retry budget shared by every request of the job. */
  retryBudget?: RetryBudgetOptions;
  /**
   * Time between two looks for finished runs.
   * @default 2000
   */
  pollIntervalMs?: number;
  /**
   * Longest wait for one request's answer (the client's `timeoutMs`). A submission that times
   * out may still be applied, so its runs are looked for before it is sent again; a resumed
   * job waits this long (plus `reconcileDelayMs`) after the killed process's last attempts
   * before looking for their runs.
   * @default 60000
   */
  timeoutMs?: number;
  /**
   * How long to wait after an ambiguous submission before looking for the runs it may have
   * created, so a request the server is still handling can land first.
   * @default 2000
   */
  reconcileDelayMs?: number;
  /**
   * How long after an attempt that had to be sent again the job keeps watching for runs that
   * attempt may still create: a server can apply a request after the client gave up on it
   * (a slow gateway, a long pause), and the API has no idempotency key to stop it. Such a
   * second run is cancelled while the API allows it and reported in its input's outcome
   * (`duplicateRuns`) and in the summary. The outcomes of the inputs concerned are held back
   * until the watch ends, so each input still gets one line. A run created later than this
   * after its attempt goes unnoticed.
   * @default 120000
   */
  duplicateWatchMs?: number;
  /**
   * Write every outcome to this file as a line of JSON (the file is rewritten from the journal
   * on resume, so it ends with one line per input).
   */
  out?: string;
  /** Number of inputs, when known, so progress can show an ETA. */
  expectedInputs?: number;
  /** Called about every `pollIntervalMs` and at the end with the job's counters. */
  onProgress?: (stats: BatchStats) => void;
  /** Stops the job; what it did stays in the journal for a resume. */
  signal?: AbortSignal;
  /**
   * Random numbers for backoff jitter (tests pass a seeded one).
   * @default Math.random
   */
  random?: () => number;
}
