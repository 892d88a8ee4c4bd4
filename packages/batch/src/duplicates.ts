import { call } from "./call.js";
import type { DuplicateRun } from "./journal.js";
import {
  type ChunkInput,
  getRun,
  KEY_FIELD,
  matchRuns,
  runsCreatedSince,
  type Sighting,
  type SubmitJob,
  sight,
} from "./submit.js";

/** A chunk under watch: since when its runs may land, and until when it is watched. */
interface Watch {
  since: number;
  until: number;
}

/**
 * Finds and repairs second runs. The API has no idempotency key: a submission the server
 * applies after the runner gave up on it and sent it again gives its inputs a second run.
 * Such chunks are watched: their runs are looked for (by the chunk id, or the input keys, in
 * their metadata) and any run beyond the recorded one of each input is cancelled while the
 * API allows it and recorded in the journal against its input, which reports it.
 */
export class DuplicateWatch {
  private readonly watches = new Map<string, Watch>();
  private readonly doneBatches = new Set<string>();
  private readonly repairing = new Set<string>();

  constructor(
    private readonly job: SubmitJob,
    private readonly windowMs: number,
    private readonly onDuplicate: (duplicate: DuplicateRun & { key: string }) => void,
  ) {}

  /** Whether a chunk is watched: its inputs' outcomes wait for the watch to end. */
  has(chunkId: string): boolean {
    return this.watches.has(chunkId);
  }

  get size(): number {
    return this.watches.size;
  }

  /**
   * Watches `id` for runs of attempts begun at `since`, until `windowMs` after the last send
   * that may still be applied (server clock).
   */
  async add(id: string, since: number, lastSentAt: number): Promise<void> {
    const until = lastSentAt + this.windowMs;
    await this.job.journal.watchChunk(id, until);
    const watch = this.watches.get(id);
    this.watches.set(id, {
      since: Math.min(watch?.since ?? since, since),
      until: Math.max(watch?.until ?? until, until),
    });
  }

  /**
   * Watches kept in the journal by an earlier process. Only their end is journaled: an
   * earlier attempt of the same chunk was sent at most a timeout and a reconcile delay
   * before the one the end was counted from.
   */
  restore(watched: Array<{ id: string; until: number }>): void {
    const { attemptTimeoutMs, reconcileDelayMs } = this.job;
    for (const { id, until } of watched)
      this.watches.set(id, {
        since: until - this.windowMs - attemptTimeoutMs - reconcileDelayMs,
        until,
      });
  }

  /**
   * Looks for second runs of every watched chunk whose own runs are recorded, then ends the
   * watches that are over (after that last look). Resolves to the chunks whose watch ended.
   */
  async scan(): Promise<string[]> {
    if (this.watches.size === 0) return [];
    const { job } = this;
    const open = new Map((await job.journal.openChunks()).map((chunk) => [chunk.id, chunk]));
    const ended: string[] = [];
    // A chunk still being sent or checked has runs nobody recorded yet, which are not second
    // runs; one with no input left open has nobody to report to.
    const ready = new Map<string, Watch>();
    for (const [id, watch] of this.watches) {
      const chunk = open.get(id);
      if (!chunk) ended.push(id);
      else if (chunk.state === "submitted") ready.set(id, watch);
    }
    if (ready.size > 0) {
      const since = Math.min(...[...ready.values()].map((w) => w.since)) - job.skewMs;
      const runs = new Map<string, Sighting[]>();
      const batches = new Map<string, string[]>();
      const looked = new Set<string>();
      for await (const summary of runsCreatedSince(job, since)) {
        const tag = job.mode === "batch" ? summary.batchId : summary.id;
        if (!tag || looked.has(tag) || this.doneBatches.has(tag)) continue;
        looked.add(tag);
        // Recorded runs and batches are this job's own, never second runs.
        if (job.mode === "batch" ? await job.journal.chunkOfBatch(tag) : summary.batchId) continue;
        if (job.mode === "runs" && (await job.journal.keyOfRun(tag))) continue;
        const sighting = await sight(job, tag, summary.id);
        const chunk = sighting?.chunk;
        if (!sighting || !chunk || !ready.has(chunk)) continue;
        if (job.mode === "batch") batches.set(chunk, [...(batches.get(chunk) ?? []), tag]);
        else runs.set(chunk, [...(runs.get(chunk) ?? []), sighting]);
      }
      for (const [id, found] of runs)
        await this.extraRuns(id, await job.journal.chunkEntries(id), found);
      for (const [id, found] of batches) await this.extraBatches(id, found);
      // The watch as it is now: a reconciliation may have extended it during this scan.
      const now = job.ctx.clock.now();
      for (const id of ready.keys()) if ((this.watches.get(id)?.until ?? 0) <= now) ended.push(id);
    }
    for (const id of ended) {
      this.watches.delete(id);
      await job.journal.endWatch(id);
    }
    return ended;
  }

  /**
   * Second runs of a runs-mode chunk: each paired with its input, cancelled, recorded. Several
   * late attempts give an input several second runs: pairing repeats until none is left.
   */
  async extraRuns(_id: string, inputs: ChunkInput[], runs: Sighting[]): Promise<void> {
    let left = runs;
    while (left.length > 0) {
      const pairs = matchRuns(inputs, left);
      if (pairs.length === 0) break;
      for (const [key, runId] of pairs) await this.repair(key, runId);
      const paired = new Set(pairs.map(([, runId]) => runId));
      left = left.filter((run) => !paired.has(run.runId));
    }
  }

  /** Second batches of a batch-mode chunk: every run in them is a second run of its input. */
  async extraBatches(_id: string, batchIds: string[]): Promise<void> {
    for (const batchId of batchIds) {
      if (this.doneBatches.has(batchId)) continue;
      let token: string | undefined;
      do {
        const query = { batchId, maxPageSize: 100, ...(token ? { nextPageToken: token } : {}) };
        const listed = await call(
          this.job.readCtx,
          (signal) => this.job.client.GET("/workflow_runs", { signal, params: { query } }),
          false,
        );
        // A read that fails throws: the batch is looked at again by the next scan, not skipped.
        if (!listed.ok) throw listed.error;
        const page = listed.data;
        for (const summary of page.workflowRuns) {
          const run = await getRun(this.job, summary.id);
          const key = run.metadata?.[KEY_FIELD];
          if (typeof key === "string") await this.repair(key, summary.id);
        }
        token = page.nextPageToken;
      } while (token);
      this.doneBatches.add(batchId);
    }
  }

  /** Cancels a second run (a finished one cannot be) and records it against its input. */
  private async repair(key: string, runId: string): Promise<void> {
    const { job } = this;
    // Never an input's own run, and each second run once, even when a reconciliation and a
    // scan find it at the same time.
    if (this.repairing.has(runId) || (await job.journal.keyOfRun(runId))) return;
    if ((await job.journal.duplicatesOf(key)).some((d) => d.runId === runId)) return;
    this.repairing.add(runId);
    try {
      const result = await call(
        job.ctx,
        (signal) =>
          job.client.POST("/workflow_runs/{workflowRunId}/cancel", {
            signal,
            params: { path: { workflowRunId: runId } },
          }),
        false,
      );
      // A refused cancel may be the retry of one whose answer was lost: the run says.
      const status = result.ok
        ? "CANCELLED"
        : (await getRun(job, runId).catch(() => undefined))?.status;
      const duplicate = {
        key,
        runId,
        cancelled: status === "CANCELLED" || status === "CANCELLING",
      };
      await job.journal.addDuplicate(duplicate);
      this.onDuplicate(duplicate);
    } finally {
      this.repairing.delete(runId);
    }
  }
}
