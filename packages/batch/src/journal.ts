import type { InputSource, PreparedInput } from "./inputs.js";
import type { BatchOutcome } from "./types.js";

/** What a journal belongs to; a journal refuses to be reused for a different job. */
export interface JournalJob {
  /** The workflow the job runs. */
  workflowId: string;
  /** The workflow version, when the job names one. */
  version?: string;
  /** How the job submits its inputs. */
  mode: "runs" | "batch";
}

/** One input as the journal knows it. */
export interface JournalEntry {
  /** The input's key. */
  key: string;
  /** Order in which inputs were first seen. */
  seq: number;
  /** What the input is. */
  source: InputSource;
  /** The input's own metadata. */
  metadata?: Record<string, unknown>;
  /** The uploaded file, once a path input has been uploaded. */
  fileId?: string;
  /** The submission the input belongs to, once it is in one. */
  chunkId?: string;
  /** The input's run, once its id is known. */
  runId?: string;
  /** Whether the input has an outcome. */
  finished: boolean;
}

/** One submission request, recorded before it is sent. */
export interface JournalChunk {
  /** The chunk's id, derived from its inputs' keys. */
  id: string;
  /** `pending`: sent (or about to be) with no answer yet; `submitted`: runs exist. */
  state: "pending" | "submitted";
  /** The batch id, for a chunk submitted in batch mode. */
  batchId?: string;
  /** When it was (last) sent, in ms since the epoch on the server's clock. */
  attemptAt: number;
  /**
   * Until when a request of it may still be in flight (server clock): its last send plus
   * the timeout; 0 once that request was answered. Absent in journals of earlier versions.
   */
  inFlightUntil?: number;
}

/**
 * A second run of an input: a submission the server applied after the runner had given up on
 * it and sent it again. The runner cancels it while the API allows it.
 */
export interface DuplicateRun {
  /** The extra run. */
  runId: string;
  /** Whether the runner cancelled it (false: it had finished, or the cancel failed). */
  cancelled: boolean;
}

/** What {@link BatchJournal.claim} found out about an input's key. */
export type ClaimResult =
  | {
      /** First sight of the key, ever. */
      state: "new";
    }
  | {
      /** The key came earlier in this process: the input is a duplicate. */
      state: "duplicate";
    }
  | {
      /** The key is from an earlier process (a resume). */
      state: "known";
      /** The key's journal entry, which says what is left to do. */
      entry: JournalEntry;
    }
  | {
      /**
       * A journal shared by several runners: another runner of the job holds the input (or
       * has finished it). This runner leaves it alone; it may take it over later, through
       * {@link BatchJournal.takeOver}, if that runner dies.
       */
      state: "elsewhere";
    };

/** What {@link BatchJournal.takeOver} handed to this runner. */
export interface TakeOver {
  /** Whether every input of the job has its outcome: the job is over for every runner. */
  finished: boolean;
  /** Submissions this runner now holds that still have inputs without an outcome. */
  chunks: JournalChunk[];
  /** Inputs this runner now holds that are in no submission yet. */
  entries: JournalEntry[];
}

/**
 * Where the runner records what it has done, so a killed process can resume without sending
 * anything twice. Every write must be durable when its promise resolves: the runner records
 * a submission *before* sending it. The default is {@link openFileJournal} (SQLite on local
 * disk); implement this interface over a shared database to run one job from many machines.
 */
export interface BatchJournal {
  /**
   * Opens the journal for a job. Resolves to the number of inputs it already holds and the
   * process generation (`epoch`) to pass to `claim`; rejects when it belongs to another job.
   */
  open(job: JournalJob): Promise<{
    /** How many inputs the journal already holds. */
    inputs: number;
    /** This process's generation, which `claim` uses to tell a duplicate from a resumed input. */
    epoch: number;
    /**
     * The journal is shared by several runners on one job: joining it needs no `resume`, the
     * runner leaves inputs held elsewhere alone, writes only its own outcomes to `out`, and
     * takes over the inputs of runners that died through {@link BatchJournal.takeOver}.
     */
    shared?: boolean;
  }>;
  /** Records that an input was read in generation `epoch`. */
  claim(input: PreparedInput, epoch: number): Promise<ClaimResult>;
  /** Records the uploaded file of a path input. */
  setFile(key: string, fileId: string): Promise<void>;
  /** Records a submission and its inputs before it is sent. */
  beginChunk(chunk: { id: string; attemptAt: number; keys: string[] }): Promise<void>;
  /**
   * Records until when a request of a submission may still be in flight (server clock),
   * before each send; 0 once a request was answered for sure.
   */
  chunkInFlight(id: string, until: number): Promise<void>;
  /** Records the runs a submission created: a batch id, or each input's run id. */
  chunkSubmitted(
    id: string,
    result: { batchId?: string; runs?: Array<[key: string, runId: string]> },
  ): Promise<void>;
  /** Forgets a submission the API refused: its inputs are free to go in another one. */
  dropChunk(id: string): Promise<void>;
  /** Records an input's outcome; resolves to false if it already had one. */
  finish(outcome: BatchOutcome): Promise<boolean>;
  /** The entry of an input, by key. */
  entry(key: string): Promise<JournalEntry | undefined>;
  /** The key of the input a run belongs to, if it is one of this job's runs. */
  keyOfRun(runId: string): Promise<string | undefined>;
  /** The chunk a batch id was recorded for. */
  chunkOfBatch(batchId: string): Promise<string | undefined>;
  /** The entries of a chunk's inputs. */
  chunkEntries(chunkId: string): Promise<JournalEntry[]>;
  /** Submissions that still have inputs without an outcome. */
  openChunks(): Promise<JournalChunk[]>;
  /** Every recorded outcome, in input order. */
  outcomes(): AsyncIterable<BatchOutcome>;
  /**
   * Records that chunk `id` was sent again after an attempt that may still be applied: its
   * runs are watched for duplicates until `until` (ms since the epoch, server clock). A later
   * call extends the watch, never shortens it.
   */
  watchChunk(id: string, until: number): Promise<void>;
  /** Ends the watch of a chunk. */
  endWatch(id: string): Promise<void>;
  /** Chunks under watch, with when their watch ends. */
  watchedChunks(): Promise<Array<{ id: string; until: number }>>;
  /** Records a second run of an input (once per run id), and whether it was cancelled. */
  addDuplicate(duplicate: DuplicateRun & { key: string }): Promise<void>;
  /** The second runs recorded for an input. */
  duplicatesOf(key: string): Promise<DuplicateRun[]>;
  /**
   * Shared journals only: hands this runner the unfinished inputs of runners whose lease has
   * expired (they died, or stopped for longer than the lease), and says whether the job is
   * finished. Called once this runner has read every input, until the job is finished.
   */
  takeOver?(): Promise<TakeOver>;
  /** Closes the journal; no call may follow. */
  close(): Promise<void>;
}

/**
 * This runner no longer holds its inputs: its lease on a shared journal expired (a pause
 * longer than the lease: a long GC, SIGSTOP, a suspended VM) and another runner may have
 * taken them over. The journal refuses its writes, so it submits and records nothing more;
 * what it did before is in the journal, and the other runners finish the job.
 *
 * @example
 * ```ts
 * try {
 *   await job.done();
 * } catch (error) {
 *   if (error instanceof LeaseLostError) process.exit(3); // the other runners carry on
 *   throw error;
 * }
 * ```
 */
export class LeaseLostError extends Error {
  /** Always `"LeaseLostError"`. */
  override name = "LeaseLostError";
}

/**
 * A submission rate shared by every runner of a job (the `rateGate` option of
 * {@link runBatch}), so that together they stay within the API's limit, and a 429 seen by one
 * pauses them all.
 */
export interface SharedRateGate {
  /** Resolves when one more submission request may be sent; rejects on the abort. */
  take(signal: AbortSignal): Promise<void>;
  /** The server asked to wait `ms` (a 429's `Retry-After`): no runner sends before then. */
  pause(ms: number): Promise<void>;
}

/**
 * The journal was written by a different job (another workflow, version or mode).
 *
 * @example
 * ```ts
 * await runBatch({ workflowId: "workflow_b", inputs, journal: "a.journal", resume: true }).done();
 * // rejects with JournalMismatchError when a.journal belongs to workflow_a
 * ```
 */
export class JournalMismatchError extends Error {
  /** Always `"JournalMismatchError"`. */
  override name = "JournalMismatchError";
}

/**
 * The journal holds an earlier job and `resume` was not asked for: the runner will not mix
 * a new job into it.
 *
 * @example
 * ```ts
 * await runBatch({ workflowId, inputs, journal: "a.journal" }).done();
 * // rejects with JournalExistsError on the second run: pass resume: true to continue
 * ```
 */
export class JournalExistsError extends Error {
  /** Always `"JournalExistsError"`. */
  override name = "JournalExistsError";
}

export function checkJob(found: JournalJob, wanted: JournalJob, where: string): void {
  const same =
    found.workflowId === wanted.workflowId &&
    (found.version ?? "") === (wanted.version ?? "") &&
    found.mode === wanted.mode;
  if (!same)
    throw new JournalMismatchError(
      `The journal ${where} belongs to a job on ${found.workflowId}${found.version ? `@${found.version}` : ""} in ${found.mode} mode, not ${wanted.workflowId}${wanted.version ? `@${wanted.version}` : ""} in ${wanted.mode} mode; use another journal for this job.`,
    );
}

/**
 * A journal in memory: nothing survives the process, so it cannot resume. For tests and for
 * jobs small enough to start over.
 *
 * @example
 * ```ts
 * const job = runBatch({ client: { token, baseUrl }, workflowId, inputs, journal: createMemoryJournal() });
 * ```
 */
export function createMemoryJournal(): BatchJournal {
  let job: JournalJob | undefined;
  const entries = new Map<string, JournalEntry & { epoch: number }>();
  const chunks = new Map<string, JournalChunk>();
  const runs = new Map<string, string>();
  const outcomes = new Map<string, BatchOutcome>();
  const watches = new Map<string, number>();
  const duplicates = new Map<string, DuplicateRun & { key: string }>();
  let seq = 0;
  let epoch = 0;
  return {
    async open(wanted) {
      if (job) checkJob(job, wanted, "in memory");
      job = wanted;
      return { inputs: entries.size, epoch: ++epoch };
    },
    async claim(input, at) {
      const entry = entries.get(input.key);
      if (!entry) {
        entries.set(input.key, {
          key: input.key,
          seq: ++seq,
          source: input.source,
          ...(input.metadata ? { metadata: input.metadata } : {}),
          finished: false,
          epoch: at,
        });
        return { state: "new" };
      }
      if (entry.epoch === at) return { state: "duplicate" };
      entry.epoch = at;
      return { state: "known", entry: { ...entry } };
    },
    async setFile(key, fileId) {
      const entry = entries.get(key);
      if (entry) entry.fileId = fileId;
    },
    async beginChunk({ id, attemptAt, keys }) {
      chunks.set(id, { id, state: "pending", attemptAt });
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry) entry.chunkId = id;
      }
    },
    async chunkInFlight(id, until) {
      const chunk = chunks.get(id);
      if (chunk) chunk.inFlightUntil = until;
    },
    async chunkSubmitted(id, result) {
      const chunk = chunks.get(id);
      if (!chunk) return;
      chunk.state = "submitted";
      if (result.batchId) chunk.batchId = result.batchId;
      for (const [key, runId] of result.runs ?? []) {
        const entry = entries.get(key);
        if (entry) entry.runId = runId;
        runs.set(runId, key);
      }
    },
    async dropChunk(id) {
      chunks.delete(id);
      for (const entry of entries.values()) if (entry.chunkId === id) delete entry.chunkId;
    },
    async finish(outcome) {
      const entry = entries.get(outcome.key);
      if (!entry || entry.finished) return false;
      entry.finished = true;
      if (outcome.runId) {
        entry.runId = outcome.runId;
        runs.set(outcome.runId, outcome.key);
      }
      outcomes.set(outcome.key, outcome);
      return true;
    },
    async entry(key) {
      const entry = entries.get(key);
      return entry ? { ...entry } : undefined;
    },
    async keyOfRun(runId) {
      return runs.get(runId);
    },
    async chunkOfBatch(batchId) {
      for (const chunk of chunks.values()) if (chunk.batchId === batchId) return chunk.id;
      return undefined;
    },
    async chunkEntries(chunkId) {
      return [...entries.values()].filter((e) => e.chunkId === chunkId).map((e) => ({ ...e }));
    },
    async openChunks() {
      const open = new Set<string>();
      for (const entry of entries.values())
        if (!entry.finished && entry.chunkId) open.add(entry.chunkId);
      return [...open].map((id) => chunks.get(id)).filter((c): c is JournalChunk => !!c);
    },
    async *outcomes() {
      const ordered = [...entries.values()].filter((e) => e.finished).sort((a, b) => a.seq - b.seq);
      for (const entry of ordered) {
        const outcome = outcomes.get(entry.key);
        if (outcome) yield outcome;
      }
    },
    async watchChunk(id, until) {
      watches.set(id, Math.max(until, watches.get(id) ?? 0));
    },
    async endWatch(id) {
      watches.delete(id);
    },
    async watchedChunks() {
      return [...watches].map(([id, until]) => ({ id, until }));
    },
    async addDuplicate(duplicate) {
      if (!duplicates.has(duplicate.runId)) duplicates.set(duplicate.runId, { ...duplicate });
    },
    async duplicatesOf(key) {
      return [...duplicates.values()]
        .filter((d) => d.key === key)
        .map(({ runId, cancelled }) => ({ runId, cancelled }));
    },
    async close() {},
  };
}
