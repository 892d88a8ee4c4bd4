import { once, setMaxListeners } from "node:events";
import { constants, createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { access, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  createClient,
  type ExtendClient,
  isApiError,
  NetworkError,
  type WorkflowRun,
} from "@extendkit/core";
import { uploadFileFromPath } from "@extendkit/core/node";
import { type CallContext, call, type RetryPolicy, ServerClock, sleep } from "./call.js";
import { Channel } from "./channel.js";
import { Chunker } from "./chunker.js";
import { Collector } from "./collect.js";
import { DuplicateWatch } from "./duplicates.js";
import { openFileJournal } from "./file-journal.js";
import { Gate, RetryBudget } from "./gate.js";
import { inputLabel, type PreparedInput, prepareInput } from "./inputs.js";
import {
  type BatchJournal,
  createMemoryJournal,
  type JournalChunk,
  type JournalEntry,
  JournalExistsError,
} from "./journal.js";
import type { BatchOptions } from "./options.js";
import { errorInfo, errorOutcome, runOutcome } from "./outcomes.js";
import { type BatchStats, type BatchSummary, createTally } from "./stats.js";
import {
  CHUNK_FIELD,
  type ChunkInput,
  KEY_FIELD,
  SubmissionError,
  type SubmitJob,
  submitChunk,
} from "./submit.js";
import { type BatchOutcome, FINAL_RUN_STATUSES } from "./types.js";

const DEFAULT_POLICY: Required<RetryPolicy> = {
  maxAttempts: 8,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 300_000,
};

/** A running (or not yet started) batch job: iterate it for outcomes as runs finish. */
export interface BatchJob extends AsyncIterable<BatchOutcome> {
  /** The job's counters, live. */
  readonly stats: BatchStats;
  /**
   * Runs the job to the end, consuming the outcomes that nobody iterates, and resolves to its
   * summary. Rejects when the job stops early (retry budget spent, API unreachable, abort);
   * what was done stays in the journal.
   */
  done(): Promise<BatchSummary>;
  /**
   * Feeds a run from a verified webhook (`workflow_run.completed`, `.failed`, ...): if it is
   * one of this job's runs and final, its outcome is recorded at once, without waiting for
   * the next poll. Resolves to whether it was used.
   */
  notify(run: WorkflowRun): Promise<boolean>;
}

/**
 * Runs every input through a workflow, exactly once, and yields each input's outcome as its
 * run finishes. Inputs are read lazily; path inputs are uploaded first; submissions go in
 * chunks (50 per `POST /workflow_runs`, or 1,000 per `POST /workflow_runs/batch`) through one
 * rate gate that honours `Retry-After`, adapts its concurrency, and retries with full jitter
 * within a shared retry budget. Every submission is journaled before it is sent; after an
 * ambiguous failure the runner looks for the runs it may have created before sending it again,
 * and a job started again with `resume: true` re-attaches to its runs in flight.
 *
 * @example
 * ```ts
 * import { runBatch } from "@extendkit/batch";
 *
 * const job = runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: ["invoices/0001.pdf", "invoices/0002.pdf", { rawText: "Invoice #3, total $12.00" }],
 *   out: "results.jsonl",
 * });
 * for await (const outcome of job) console.log(outcome.input, outcome.status);
 * const summary = await job.done();
 * ```
 */
export function runBatch(options: BatchOptions): BatchJob {
  const runner = new Runner(options);
  return {
    get stats() {
      return runner.tally.stats;
    },
    [Symbol.asyncIterator]: () => runner.start()[Symbol.asyncIterator](),
    done: () => runner.done(),
    notify: (run) => runner.notify(run),
  };
}

class Runner {
  readonly tally;
  private readonly options: BatchOptions;
  private readonly mode: "runs" | "batch";
  private readonly chunkSize: number;
  private readonly channel = new Channel<BatchOutcome>(256, () =>
    this.fail(new Error("The batch job was stopped: its outcomes are no longer being read.")),
  );
  private readonly abort = new AbortController();
  private readonly idle = new AbortController();
  private readonly wake = AbortSignal.any([this.abort.signal, this.idle.signal]);
  private settled: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private readonly client: ExtendClient;
  private readonly uploadClient: ExtendClient;
  private readonly timeoutMs: number;
  private journal!: BatchJournal;
  private epoch = 0;
  private readonly submitGate: Gate;
  private readonly budget: RetryBudget;
  private readonly ctx: { submit: CallContext; upload: CallContext; read: CallContext };
  private readonly runs = new Map<string, string>();
  // Final runs from webhooks that came before their run ids were known.
  private readonly early = new Map<string, WorkflowRun>();
  private readonly earlyBatches = new Map<string, WorkflowRun[]>();
  private readonly batches = new Map<string, number>();
  private readonly tasks = new Set<Promise<void>>();
  // Bounds the upload tasks, so reading waits rather than queueing thousands of them; the
  // upload request gate inside `call` handles throttles and retries.
  private readonly uploads: Gate;
  private collector!: Collector;
  private out: WriteStream | undefined;
  private drained: Promise<void> | undefined;
  private readonly chunker: Chunker;
  private roomWaiters: Array<() => void> = [];
  private reading = true;
  private finishedAll: (() => void) | undefined;
  private submit!: SubmitJob;
  private watch!: DuplicateWatch;
  // Outcomes of inputs in a watched chunk: journaled when the watch ends, with any second
  // runs found by then, so each input still gets one outcome.
  private readonly held = new Map<string, BatchOutcome>();
  private failedScans = 0;
  // A journal shared by several runners: inputs held elsewhere are left alone, and inputs
  // of runners that died are taken over once this one has read everything.
  private shared = false;
  private helping = false;

  constructor(options: BatchOptions) {
    if (typeof options?.workflowId !== "string" || options.workflowId === "")
      throw new TypeError(
        'runBatch: pass `workflowId`, the workflow to run (e.g. "workflow_abc").',
      );
    if (
      !options.inputs ||
      !(Symbol.iterator in options.inputs || Symbol.asyncIterator in options.inputs)
    )
      throw new TypeError("runBatch: `inputs` must be an iterable or async iterable of inputs.");
    this.options = options;
    this.mode = options.mode ?? (options.priority !== undefined ? "runs" : "batch");
    if (this.mode !== "runs" && this.mode !== "batch")
      throw new TypeError(
        `runBatch: \`mode\` must be "runs" or "batch"; got ${JSON.stringify(options.mode)}.`,
      );
    if (this.mode === "batch" && options.priority !== undefined)
      throw new TypeError(
        'runBatch: `priority` needs runs mode; the batch endpoint always runs at priority 90. Drop `mode: "batch"` or `priority`.',
      );
    const limit = this.mode === "runs" ? 50 : 1000;
    this.chunkSize = options.chunkSize ?? limit;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1 || this.chunkSize > limit)
      throw new RangeError(
        `runBatch: \`chunkSize\` must be a whole number from 1 to ${limit} in ${this.mode} mode; got ${options.chunkSize}.`,
      );
    const token = options.client?.token ?? process.env.EXTEND_API_KEY;
    if (!token)
      throw new TypeError(
        "runBatch: no API token. Set EXTEND_API_KEY or pass `client: { token }`.",
      );
    this.timeoutMs = options.timeoutMs ?? options.client?.timeoutMs ?? 60_000;
    this.client = createClient({
      ...options.client,
      token,
      retry: false,
      timeoutMs: this.timeoutMs,
    });
    // An upload's answer comes once the whole file is sent: a slow link needs longer.
    this.uploadClient = createClient({
      ...options.client,
      token,
      retry: false,
      timeoutMs: Math.max(this.timeoutMs, 300_000),
    });
    const random = options.random ?? Math.random;
    const policy = { ...DEFAULT_POLICY, ...options.retry };
    this.budget = new RetryBudget(options.retryBudget);
    this.submitGate = new Gate({ maxConcurrency: options.concurrency ?? 4, random });
    this.uploads = new Gate({ maxConcurrency: options.uploadConcurrency ?? 8, random });
    const clock = new ServerClock();
    const context = (gate: Gate): CallContext => ({
      clock,
      gate,
      budget: this.budget,
      policy,
      signal: this.abort.signal,
      random,
      onRetry: () => {
        this.tally.stats.retries++;
      },
    });
    this.ctx = {
      submit: {
        ...context(this.submitGate),
        ...(options.rateGate ? { shared: options.rateGate } : {}),
      },
      upload: context(new Gate({ maxConcurrency: options.uploadConcurrency ?? 8, random })),
      read: context(new Gate({ maxConcurrency: options.readConcurrency ?? 8, random })),
    };
    this.chunker = new Chunker({
      size: this.chunkSize,
      lingerMs: options.lingerMs ?? 200,
      runsMode: this.mode === "runs",
      send: (inputs) => this.spawn(this.submitChunk(inputs)),
    });
    // Every waiting request listens for the job's abort: many at once is expected.
    setMaxListeners(0, this.abort.signal);
    this.tally = createTally(Date.now());
    if (options.expectedInputs !== undefined) this.tally.stats.expected = options.expectedInputs;
    options.signal?.addEventListener("abort", () => this.fail(options.signal?.reason), {
      once: true,
    });
  }

  start(): Channel<BatchOutcome> {
    this.settled ??= this.main().then(
      () => this.channel.close(),
      (error) => this.fail(error),
    );
    return this.channel;
  }

  async done(): Promise<BatchSummary> {
    const channel = this.start();
    try {
      // Someone else may be reading the outcomes; then only wait for the end.
      if (!channel.claimed) for await (const _ of channel);
    } finally {
      // Resolve only once the journal and the results file are closed.
      await this.settled;
    }
    if (this.failure) throw this.failure.error;
    return this.tally.summary(Date.now());
  }

  async notify(run: WorkflowRun): Promise<boolean> {
    if (!this.collector || !FINAL_RUN_STATUSES.has(run.status)) return false;
    if (run.workflow?.id !== undefined && run.workflow.id !== this.options.workflowId) return false;
    if (await this.collector.offer(run)) return true;
    // A webhook can beat the answer to the request that created its run: keep it until the
    // batch or run id is known to be this job's.
    const key = run.metadata?.[KEY_FIELD];
    if (typeof key === "string" && run.batchId) {
      const entry = await this.journal.entry(key);
      if (!entry?.chunkId || entry.finished) return false;
      const held = this.earlyBatches.get(run.batchId) ?? [];
      if (this.earlyBatches.size >= 1000) this.earlyBatches.clear();
      this.earlyBatches.set(run.batchId, [...held, run]);
      return true;
    }
    const chunk = run.metadata?.[CHUNK_FIELD];
    if (typeof chunk !== "string" || (await this.journal.chunkEntries(chunk)).length === 0)
      return false;
    if (this.early.size >= 10_000) this.early.clear();
    this.early.set(run.id, run);
    return true;
  }

  private fail(error: unknown): void {
    this.failure ??= { error };
    if (!this.abort.signal.aborted) this.abort.abort(error);
    this.channel.close(error ?? new Error("The batch job was stopped."));
  }

  private async main(): Promise<void> {
    const { options } = this;
    this.journal =
      options.journal === false
        ? createMemoryJournal()
        : typeof options.journal === "object"
          ? options.journal
          : openFileJournal(
              options.journal ?? join(".extendkit", "batch", `${options.workflowId}.journal`),
            );
    try {
      const opened = await this.journal.open({
        workflowId: options.workflowId,
        ...(options.version ? { version: options.version } : {}),
        mode: this.mode,
      });
      this.epoch = opened.epoch;
      this.shared = opened.shared === true;
      if (opened.inputs > 0 && !options.resume && !this.shared)
        throw new JournalExistsError(
          `The journal${typeof options.journal === "string" || options.journal === undefined ? ` ${options.journal ?? join(".extendkit", "batch", `${options.workflowId}.journal`)}` : ""} already holds ${opened.inputs} inputs of an earlier run of this job. Pass resume: true (CLI: --resume) to continue it, or use a new journal to start over.`,
        );
      if (options.out) {
        mkdirSync(dirname(options.out), { recursive: true });
        this.out = createWriteStream(options.out);
        this.out.on("error", (error) => this.fail(error));
      }
      this.submit = this.submitJob();
      this.watch = new DuplicateWatch(this.submit, options.duplicateWatchMs ?? 120_000, (d) => {
        this.tally.stats.duplicateRuns++;
        if (d.cancelled) this.tally.stats.duplicateRunsCancelled++;
      });
      // Submissions are stamped on the server's clock: learn it before the first one, so a
      // resumed process knows how long its predecessor's requests may still be in flight.
      await this.learnClock();
      this.collector = new Collector(
        {
          client: this.client,
          journal: this.journal,
          readCtx: this.ctx.read,
          workflowId: options.workflowId,
          runs: this.runs,
          batches: this.batches,
          finish: (key, run) => this.finishRun(key, run),
        },
        this.tally.stats.startedAt - 60_000,
      );
      await this.restore();
      const collecting = this.collect().catch((error) => this.fail(error));
      await this.read();
      this.chunker.flush();
      while (this.tasks.size > 0) await Promise.all([...this.tasks]);
      this.reading = false;
      this.abort.signal.throwIfAborted();
      if (this.tally.stats.inFlight > 0)
        await new Promise<void>((resolve) => {
          this.finishedAll = resolve;
          this.abort.signal.addEventListener("abort", () => resolve(), { once: true });
        });
      this.abort.signal.throwIfAborted();
      if (this.shared) await this.help();
      // Every input has its outcome: wake the collector from its sleep so it ends now.
      this.idle.abort();
      await collecting;
      this.report();
    } catch (error) {
      // Stop everything still running before the cleanup below waits for it.
      this.fail(error);
      throw error;
    } finally {
      this.reading = false;
      this.finishedAll?.();
      // After a failure, tasks still running end on the abort; let them before closing
      // what they write to.
      await Promise.allSettled([...this.tasks]);
      if (this.out) {
        this.out.end();
        await once(this.out, "close").catch(() => {});
      }
      await this.journal.close();
    }
  }

  private submitJob(): SubmitJob {
    const { options } = this;
    return {
      client: this.client,
      journal: this.journal,
      ctx: this.ctx.submit,
      readCtx: this.ctx.read,
      workflowId: options.workflowId,
      ...(options.version ? { version: options.version } : {}),
      mode: this.mode,
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      ...(options.metadata ? { metadata: options.metadata } : {}),
      reconcileDelayMs: options.reconcileDelayMs ?? 2000,
      attemptTimeoutMs: this.timeoutMs,
      watch: (id, since, lastSentAt) => this.watch.add(id, since, lastSentAt),
      watching: (id) => this.watch.has(id),
      extraRuns: (id, inputs, runs) => this.watch.extraRuns(id, inputs, runs),
      extraBatches: (id, batchIds) => this.watch.extraBatches(id, batchIds),
      // The Date header is whole seconds; two cover it and any reordering on the server.
      skewMs: 2000,
      reconciler: { queue: Promise.resolve(), seen: new Map() },
      submitted: (result, size, attemptAt) => {
        this.collector.rewind(attemptAt);
        this.tally.stats.submitRequests++;
        this.tally.stats.submitted += size;
        if (result.batchId) {
          this.batches.set(result.batchId, size);
          for (const run of this.earlyBatches.get(result.batchId) ?? [])
            this.spawn(this.notify(run).then(() => {}));
          this.earlyBatches.delete(result.batchId);
        }
        for (const [key, runId] of result.runs ?? []) {
          this.runs.set(runId, key);
          const early = this.early.get(runId);
          if (early) {
            this.early.delete(runId);
            this.spawn(this.finishRun(key, early));
          }
        }
      },
      refused: async (input, error) => {
        await this.finishOutcome(errorOutcome(input, error));
      },
      onReconcile: (found) => {
        this.tally.stats.reconciled++;
        if (found) this.tally.stats.reconciledApplied++;
      },
    };
  }

  private submitChunk(
    inputs: ChunkInput[],
    restored?: { id: string; attemptAt: number; inFlightUntil?: number },
  ) {
    return submitChunk(this.submit, inputs, restored);
  }

  /** On resume: outcomes first, then re-attach to submissions in flight. */
  /** One read, to learn the server's clock (and to find a wrong token before anything else). */
  private async learnClock(): Promise<void> {
    const result = await call(
      this.ctx.read,
      (signal) =>
        this.client.GET("/workflow_runs", {
          signal,
          params: { query: { workflowId: this.options.workflowId, maxPageSize: 1 } },
        }),
      false,
    );
    if (!result.ok) {
      const status = isApiError(result.error) ? result.error.status : undefined;
      throw new SubmissionError(
        `Could not reach the API before starting: ${result.error.message}${status === 401 || status === 403 ? " Check the API token (EXTEND_API_KEY) and its workspace." : " Nothing was sent: run the job again when the API is reachable."}`,
        { cause: result.error },
      );
    }
  }

  private async restore(): Promise<void> {
    // A shared journal is resumed by taking over, after reading (see `help`).
    if (!this.options.resume || this.shared) return;
    this.watch.restore(await this.journal.watchedChunks());
    for await (const outcome of this.journal.outcomes())
      await this.emit({ ...outcome, fromJournal: true });
    for (const chunk of await this.journal.openChunks()) await this.attach(chunk);
    // Runs that finished while no process was watching: ask about each open one directly.
    if (this.runs.size > 0 || this.batches.size > 0) await this.collector.check();
  }

  /** Takes up a submission recorded by an earlier process (or a runner that died). */
  private async attach(chunk: JournalChunk): Promise<void> {
    const entries = (await this.journal.chunkEntries(chunk.id)).filter((e) => !e.finished);
    this.tally.stats.inFlight += entries.length;
    if (chunk.state === "pending") {
      // Runs found by reconciling may have finished while no process watched: ask at once.
      const attached = this.submitChunk(entries, {
        id: chunk.id,
        attemptAt: chunk.attemptAt,
        ...(chunk.inFlightUntil !== undefined ? { inFlightUntil: chunk.inFlightUntil } : {}),
      });
      this.spawn(attached.then(() => this.collector.check().then(() => {})));
    } else if (chunk.batchId) {
      this.batches.set(chunk.batchId, entries.length);
      this.tally.stats.submitted += entries.length;
    } else {
      for (const entry of entries) if (entry.runId) this.runs.set(entry.runId, entry.key);
      this.tally.stats.submitted += entries.filter((e) => e.runId).length;
      const orphans = entries.filter((e) => !e.runId);
      if (orphans.length > 0) this.spawn(this.submitChunk(orphans));
    }
  }

  /**
   * A runner on a shared journal that has read every input stays until the job is finished:
   * it takes over the inputs of runners whose lease expired (reconciling their submissions in
   * flight, never sending them blindly) and waits while live runners finish theirs.
   */
  private async help(): Promise<void> {
    const takeOver = this.journal.takeOver?.bind(this.journal);
    if (!takeOver) return;
    this.helping = true;
    try {
      for (;;) {
        this.abort.signal.throwIfAborted();
        const taken = await takeOver();
        if (taken.finished) return;
        this.watch.restore(
          (await this.journal.watchedChunks()).filter((w) =>
            taken.chunks.some((c) => c.id === w.id),
          ),
        );
        for (const chunk of taken.chunks) await this.attach(chunk);
        for (const entry of taken.entries) await this.enqueue(entry);
        this.chunker.flush();
        if (this.tally.stats.inFlight > 0) {
          if (this.runs.size > 0 || this.batches.size > 0) await this.collector.check();
          await new Promise<void>((resolve) => {
            // The check above may have finished them all already.
            if (this.tally.stats.inFlight <= 0) return resolve();
            this.finishedAll = resolve;
            this.abort.signal.addEventListener("abort", () => resolve(), { once: true });
          });
          this.finishedAll = undefined;
          while (this.tasks.size > 0) await Promise.all([...this.tasks]);
        } else {
          await sleep(this.options.pollIntervalMs ?? 2000, this.abort.signal).catch(() => {});
        }
      }
    } finally {
      this.helping = false;
    }
  }

  private async read(): Promise<void> {
    const maxInFlight = this.options.maxInFlight ?? 10_000;
    let invalid = 0;
    for await (const raw of untilAborted(this.options.inputs, this.abort.signal)) {
      this.tally.stats.read++;
      let input: PreparedInput;
      try {
        input = prepareInput(raw);
      } catch (error) {
        await this.emit({
          key: `invalid_${++invalid}`,
          input: String(typeof raw === "string" ? raw : JSON.stringify(raw)).slice(0, 200),
          status: "ERROR",
          error: errorInfo(error),
          finishedAt: new Date().toISOString(),
        });
        continue;
      }
      const claim = await this.journal.claim(input, this.epoch);
      if (claim.state === "duplicate") {
        await this.emit({
          key: input.key,
          input: inputLabel(input.source),
          status: "DUPLICATE",
          finishedAt: new Date().toISOString(),
        });
        continue;
      }
      // Held by another runner of a shared journal: it is that runner's to do.
      if (claim.state === "elsewhere") continue;
      let entry: ChunkInput = input;
      if (claim.state === "known") {
        // Finished, or in a submission the restore step already re-attached to.
        if (claim.entry.finished || claim.entry.chunkId) continue;
        entry = claim.entry;
      }
      while (this.tally.stats.inFlight >= maxInFlight) await this.room();
      await this.enqueue(entry);
    }
  }

  /** Counts an input in flight and sends it on: uploaded first if it is a path, then chunked. */
  private async enqueue(entry: ChunkInput): Promise<void> {
    this.tally.stats.inFlight++;
    if (entry.source.kind === "path" && !entry.fileId) {
      await this.uploads.acquire(this.abort.signal);
      const upload = this.upload(entry as JournalEntry).finally(() => this.uploads.release());
      this.spawn(upload);
    } else {
      this.chunker.add(entry);
    }
  }

  private async upload(entry: JournalEntry): Promise<void> {
    const source = entry.source as { path: string; name: string };
    // A directory passes a read check but fails inside fetch, where it would look like the
    // network: only a readable regular file goes on.
    const unreadable = await access(source.path, constants.R_OK).then(
      async () => ((await stat(source.path)).isFile() ? undefined : new Error("not a file")),
      (error: Error) => error,
    );
    if (unreadable) {
      await this.finishOutcome(
        errorOutcome(entry, new Error(`Cannot read ${source.path}: ${unreadable.message}`)),
      );
      return;
    }
    const result = await call(
      this.ctx.upload,
      (signal) => uploadFileFromPath(this.uploadClient, source.path, { name: source.name, signal }),
      false,
    );
    if (!result.ok) {
      const status = isApiError(result.error) ? result.error.status : undefined;
      // The file itself could not be read (gone, or no longer readable, since the check): the
      // input's outcome, like a missing file.
      const local = (result.error as { code?: unknown }).code;
      const fromDisk = !(result.error instanceof NetworkError) && typeof local === "string";
      if (status === undefined && fromDisk && /^E[A-Z]+$/.test(local)) {
        await this.finishOutcome(
          errorOutcome(entry, new Error(`Cannot read ${source.path}: ${result.error.message}`)),
        );
        return;
      }
      // Only a refusal of the file itself is the input's outcome; an outage, a rate limit or
      // a bad token stops the job, to be resumed, instead of failing thousands of inputs.
      if (
        status === undefined ||
        status === 401 ||
        status === 403 ||
        status === 429 ||
        status >= 500
      )
        throw new SubmissionError(
          `Uploading ${source.path} failed: ${result.error.message} Nothing was lost: resume the job when the API is reachable${status === 401 || status === 403 ? " and the token (EXTEND_API_KEY) is right" : ""}.`,
          { cause: result.error },
        );
      await this.finishOutcome(errorOutcome(entry, result.error));
      return;
    }
    const fileId = result.data.file.id;
    await this.journal.setFile(entry.key, fileId);
    this.tally.stats.uploaded++;
    this.chunker.add({ ...entry, fileId });
  }

  private spawn(task: Promise<void>): void {
    const tracked = task
      .catch((error) => this.fail(error))
      .finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  private async room(): Promise<void> {
    const { signal } = this.abort;
    signal.throwIfAborted();
    await new Promise<void>((resolve) => {
      const wake = () => {
        signal.removeEventListener("abort", wake);
        resolve();
      };
      this.roomWaiters.push(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
    this.abort.signal.throwIfAborted();
  }

  private async collect(): Promise<void> {
    const interval = this.options.pollIntervalMs ?? 2000;
    // Direct checks ask about every open run, so they are the safety net, not the method:
    // after quiet sweeps once reading is over, then less and less often while they find
    // nothing, and at least every few minutes.
    let quiet = 0;
    let patience = 3;
    let lastCheck = Date.now();
    while (
      !this.abort.signal.aborted &&
      (this.reading || this.helping || this.tally.stats.inFlight > 0)
    ) {
      this.report();
      await sleep(interval, this.wake).catch(() => {});
      if (this.abort.signal.aborted || this.idle.signal.aborted) return;
      const found = await this.collector.sweep();
      await this.scanForDuplicates();
      quiet = found > 0 ? 0 : quiet + 1;
      if (found > 0) patience = 3;
      const idle = !this.reading && this.tasks.size === 0 && quiet >= patience;
      const due = Date.now() - lastCheck > Math.max(30 * interval, 300_000);
      if (this.tally.stats.inFlight > 0 && (idle || due)) {
        const checked = await this.collector.check();
        lastCheck = Date.now();
        quiet = 0;
        patience = checked > 0 ? 3 : Math.min(patience * 2, 150);
      }
    }
  }

  /** Looks for second runs of watched chunks; releases the outcomes of watches that ended. */
  private async scanForDuplicates(): Promise<void> {
    if (this.watch.size === 0) return;
    // A failed read leaves the watches as they are: the next poll looks again. One that keeps
    // failing stops the job (resume it later) rather than hold its outcomes forever.
    let ended: string[];
    try {
      ended = await this.watch.scan();
      this.failedScans = 0;
    } catch (error) {
      if (++this.failedScans < 30) return;
      throw new SubmissionError(
        `Could not look for second runs of submissions sent again: ${(error as Error).message} Nothing was lost: resume the job when the API answers again.`,
        { cause: error },
      );
    }
    for (const id of ended)
      for (const entry of await this.journal.chunkEntries(id)) {
        const outcome = this.held.get(entry.key);
        if (!outcome) continue;
        this.held.delete(entry.key);
        await this.finishOutcome(outcome);
      }
  }

  private async finishRun(key: string, run: WorkflowRun): Promise<void> {
    const entry = await this.journal.entry(key);
    if (!entry || entry.finished || this.held.has(key)) return;
    let finished = true;
    // A second run may still land for this input: hold its outcome until the watch ends.
    if (entry.chunkId && this.watch.has(entry.chunkId)) this.held.set(key, runOutcome(entry, run));
    else finished = await this.finishOutcome(runOutcome(entry, run));
    if (!finished) return;
    this.runs.delete(run.id);
    if (run.batchId && this.batches.has(run.batchId)) {
      const left = (this.batches.get(run.batchId) ?? 1) - 1;
      if (left <= 0) this.batches.delete(run.batchId);
      else this.batches.set(run.batchId, left);
    }
  }

  /** Records an outcome in the journal, then hands it out; false if it was already there. */
  private async finishOutcome(reached: BatchOutcome): Promise<boolean> {
    const duplicates = await this.journal.duplicatesOf(reached.key);
    const outcome = duplicates.length > 0 ? { ...reached, duplicateRuns: duplicates } : reached;
    if (!(await this.journal.finish(outcome))) return false;
    this.tally.stats.inFlight--;
    for (const wake of this.roomWaiters.splice(0)) wake();
    await this.emit(outcome);
    if (!this.reading && this.tally.stats.inFlight <= 0) this.finishedAll?.();
    return true;
  }

  private async emit(outcome: BatchOutcome): Promise<void> {
    this.tally.record(outcome);
    if (this.out && !this.out.writableEnded && !this.out.write(`${JSON.stringify(outcome)}\n`)) {
      // One shared wait: concurrent writers must not each add a drain listener.
      this.drained ??= once(this.out, "drain").then(() => {
        this.drained = undefined;
      });
      await this.drained;
    }
    await this.channel.push(outcome);
  }

  private report(): void {
    const { stats } = this.tally;
    stats.concurrency = this.submitGate.concurrency;
    stats.pausedMs = this.submitGate.pausedFor;
    this.options.onProgress?.({ ...stats });
  }
}

/**
 * The inputs, read one at a time, ending with the abort even while the source is waiting
 * (a pipe on stdin that has nothing to say yet).
 */
async function* untilAborted<T>(
  inputs: Iterable<T> | AsyncIterable<T>,
  signal: AbortSignal,
): AsyncGenerator<T> {
  const iterator =
    Symbol.asyncIterator in inputs
      ? (inputs as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (inputs as Iterable<T>)[Symbol.iterator]();
  try {
    for (;;) {
      // A listener per read, removed once the read answers: racing every read against one
      // long-lived promise would keep a reaction (and the input) per read until the end.
      const next = await new Promise<IteratorResult<T>>((resolve, reject) => {
        const stop = () => reject(signal.reason);
        if (signal.aborted) return stop();
        signal.addEventListener("abort", stop, { once: true });
        Promise.resolve(iterator.next()).then(
          (result) => {
            signal.removeEventListener("abort", stop);
            resolve(result);
          },
          (error) => {
            signal.removeEventListener("abort", stop);
            reject(error);
          },
        );
      });
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Not awaited: a source blocked on a read may never answer its return().
    void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}
