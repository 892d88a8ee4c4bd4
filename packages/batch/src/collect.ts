import type { ExtendClient, WorkflowRun, WorkflowRunSummary } from "@extendkit/core";
import { type CallContext, call } from "./call.js";
import type { BatchJournal } from "./journal.js";
import { KEY_FIELD } from "./submit.js";
import { FINAL_RUN_STATUSES } from "./types.js";

/** What the collector needs from the job. */
export interface CollectJob {
  client: ExtendClient;
  journal: BatchJournal;
  readCtx: CallContext;
  workflowId: string;
  /** Runs mode: run id → input key, for runs without an outcome. */
  runs: Map<string, string>;
  /** Batch mode: batch id → inputs of it without an outcome. */
  batches: Map<string, number>;
  /** Records a finished run as its input's outcome. */
  finish(key: string, run: WorkflowRun): Promise<void>;
}

// How far back each sweep looks past the newest change the previous sweep saw: covers
// equal timestamps and runs that changed while it was paging.
const OVERLAP_MS = 2000;
const PAGE_SIZE = 100;

/**
 * Finds finished runs. Each sweep lists the workflow's runs by `updatedAt`, newest first,
 * back to where the last sweep reached, so its cost follows what changed, not how many runs
 * are in flight. `check` asks about every open run directly (by batch id, or run by run);
 * the runner uses it at start, when sweeps go quiet, and now and then as a safety net.
 */
export class Collector {
  private watermark: number;
  // Runs recorded lately: each sweep sees the last OVERLAP_MS again, and these need no lookup.
  private recent = new Set<string>();
  private older = new Set<string>();

  constructor(
    private readonly job: CollectJob,
    since: number,
  ) {
    this.watermark = since;
  }

  /** One sweep; resolves to the number of outcomes it recorded. */
  async sweep(): Promise<number> {
    const { job } = this;
    let top: number | undefined;
    let token: string | undefined;
    let found = 0;
    do {
      const page = await this.list({
        workflowId: job.workflowId,
        sortBy: "updatedAt",
        sortDir: "desc",
        maxPageSize: PAGE_SIZE,
        ...(token ? { nextPageToken: token } : {}),
      });
      // A sweep cut short by a failed read starts from the same place next time.
      if (!page) return found;
      token = page.nextPageToken;
      const work: Array<Promise<number>> = [];
      for (const summary of page.workflowRuns) {
        const at = Date.parse(summary.updatedAt);
        top ??= at;
        if (at < this.watermark) {
          token = undefined;
          break;
        }
        work.push(this.consider(summary));
      }
      // One page at a time: memory stays bounded by a page, not by what finished.
      for (const n of await Promise.all(work)) found += n;
    } while (token);
    if (top !== undefined) this.watermark = Math.max(this.watermark, top - OVERLAP_MS);
    return found;
  }

  /**
   * Makes the next sweep look back to `at` (server time): runs of a submission whose answer
   * came after they changed would otherwise be older than where the sweeps have reached.
   */
  rewind(at: number): void {
    this.watermark = Math.min(this.watermark, at - OVERLAP_MS);
  }

  /** Asks about every open batch and run directly. */
  async check(): Promise<number> {
    const { job } = this;
    const work: Array<Promise<number>> = [];
    for (const batchId of [...job.batches.keys()]) {
      let token: string | undefined;
      do {
        const page = await this.list({
          batchId,
          maxPageSize: PAGE_SIZE,
          ...(token ? { nextPageToken: token } : {}),
        });
        if (!page) break;
        token = page.nextPageToken;
        for (const summary of page.workflowRuns) work.push(handled(this.consider(summary)));
      } while (token);
    }
    for (const runId of [...job.runs.keys()]) work.push(handled(this.fetch(runId)));
    const counts = await Promise.all(work);
    return counts.reduce((a, b) => a + b, 0);
  }

  /** A run from outside (a verified webhook): recorded at once if it is one of ours. */
  async offer(run: WorkflowRun): Promise<boolean> {
    if (!FINAL_RUN_STATUSES.has(run.status)) return false;
    const key =
      this.job.runs.get(run.id) ??
      (run.batchId && this.job.batches.has(run.batchId)
        ? (run.metadata?.[KEY_FIELD] as string | undefined)
        : undefined);
    if (!key) return false;
    await this.job.finish(key, run);
    this.remember(run.id);
    return true;
  }

  private async consider(summary: WorkflowRunSummary): Promise<number> {
    if (!FINAL_RUN_STATUSES.has(summary.status)) return 0;
    if (this.recent.has(summary.id) || this.older.has(summary.id)) return 0;
    if (this.job.runs.has(summary.id)) return this.fetch(summary.id);
    if (!summary.batchId || !this.job.batches.has(summary.batchId)) return 0;
    // Batch runs are known by key only once fetched; skip the ones already recorded.
    const key = await this.job.journal.keyOfRun(summary.id);
    if (key && (await this.job.journal.entry(key))?.finished) return 0;
    return this.fetch(summary.id);
  }

  private remember(runId: string) {
    // Two generations, so the set stays bounded without forgetting the newest ids.
    if (this.recent.size >= 5000) {
      this.older = this.recent;
      this.recent = new Set();
    }
    this.recent.add(runId);
  }

  private async fetch(runId: string): Promise<number> {
    const result = await call(
      this.job.readCtx,
      (signal) =>
        this.job.client.GET("/workflow_runs/{workflowRunId}", {
          signal,
          params: { path: { workflowRunId: runId } },
        }),
      false,
    );
    // A read that keeps failing is tried again by a later sweep or check.
    if (!result.ok) return 0;
    const run = result.data.workflowRun;
    if (!FINAL_RUN_STATUSES.has(run.status)) return 0;
    return (await this.offer(run)) ? 1 : 0;
  }

  private async list(query: Record<string, string | number>) {
    const result = await call(
      this.job.readCtx,
      (signal) => this.job.client.GET("/workflow_runs", { signal, params: { query } }),
      false,
    );
    return result.ok ? result.data : undefined;
  }
}

/**
 * Marks a promise as handled at once: `check` starts work for one batch while it still lists
 * the next, and a rejection in that gap must not become an unhandled one. `Promise.all`
 * still sees the rejection.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
