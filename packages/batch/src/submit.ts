import { createHash } from "node:crypto";
import {
  type ExtendClient,
  isApiError,
  type Schemas,
  type WorkflowRun,
  type WorkflowRunSummary,
} from "@extendkit/core";
import { AMBIGUOUS_STATUSES, type CallContext, call, sleep } from "./call.js";
import type { BatchJournal, JournalEntry } from "./journal.js";

/**
 * Metadata key holding the input's key on every run made in batch mode, so the runner can
 * find its runs again (and so can you).
 *
 * @example
 * ```ts
 * const key = run.metadata?.[KEY_FIELD]; // "in_Vx…"
 * ```
 */
export const KEY_FIELD = "extendkit:key";
/**
 * Metadata key holding the submission's chunk id on every run made in runs mode.
 *
 * @example
 * ```ts
 * const chunk = run.metadata?.[CHUNK_FIELD]; // "ck_…"
 * ```
 */
export const CHUNK_FIELD = "extendkit:chunk";

/** An input ready to submit: its journal entry, with the uploaded file for path inputs. */
export type ChunkInput = Pick<JournalEntry, "key" | "source" | "metadata" | "fileId">;

/** What the submitter needs from the job. */
export interface SubmitJob {
  client: ExtendClient;
  journal: BatchJournal;
  ctx: CallContext;
  readCtx: CallContext;
  workflowId: string;
  version?: string;
  mode: "runs" | "batch";
  priority?: number;
  metadata?: Record<string, unknown>;
  reconcileDelayMs: number;
  /** The longest a request can be in flight: its timeout. */
  attemptTimeoutMs: number;
  /** How far before a request's send time (on the server's clock) its runs may be stamped. */
  skewMs: number;
  /**
   * Called when an attempt of a chunk may still land after the chunk got (or will get) its
   * runs another way: before it is sent again after an attempt that was not found applied,
   * and after a later ambiguous attempt of a chunk already watched. `since` is when the
   * attempts began, `lastSentAt` the last send that may still be applied (server clock).
   */
  watch(id: string, since: number, lastSentAt: number): Promise<void>;
  /** Whether a chunk is watched already (an earlier attempt of it may still land). */
  watching(id: string): boolean;
  /** Runs of a chunk found beyond those recorded for its inputs: second runs. */
  extraRuns(id: string, inputs: ChunkInput[], runs: Sighting[]): Promise<void>;
  /** Batches of a chunk found beyond the one recorded for it: second runs of each input. */
  extraBatches(id: string, batchIds: string[]): Promise<void>;
  /**
   * Called with the runs a chunk of `size` inputs created (a batch id, or run ids per key),
   * and when it was sent, on the server's clock.
   */
  submitted(
    result: { batchId?: string; runs?: Array<[string, string]> },
    size: number,
    attemptAt: number,
  ): void;
  /** Called for inputs the API refused for good. */
  refused(input: ChunkInput, error: Error): Promise<void>;
  /** Counts reconciliations, for statistics. */
  onReconcile(found: boolean): void;
  /** Reconciliations take turns, and share what they learned about recent runs. */
  reconciler: { queue: Promise<unknown>; seen: Map<string, Sighting> };
}

/**
 * The job stopped because a submission could not be made or checked (wrong token, API
 * unreachable, a rate limit longer than `maxRetryAfterMs`). Nothing was sent twice; resume
 * the job when the cause is fixed.
 *
 * @example
 * ```ts
 * job.done().catch((error) => {
 *   if (error instanceof SubmissionError) console.error(error.message, error.cause);
 * });
 * ```
 */
export class SubmissionError extends Error {
  /** Always `"SubmissionError"`. */
  override name = "SubmissionError";
}

export function chunkIdOf(inputs: ChunkInput[]): string {
  const hash = createHash("sha256");
  for (const input of inputs) hash.update(input.key).update("\n");
  return `ck_${hash.digest("base64url").slice(0, 22)}`;
}

/**
 * Submits one chunk exactly once: records it, sends it, and after an ambiguous failure
 * looks for the runs it may have created before sending it again. A chunk the API refuses
 * as invalid is split in halves until the bad input is alone, so one bad file id does not
 * fail the other 49. `restored` is a chunk recorded by an earlier process.
 */
export async function submitChunk(
  job: SubmitJob,
  inputs: ChunkInput[],
  restored?: { id: string; attemptAt: number; inFlightUntil?: number },
): Promise<void> {
  const id = restored?.id ?? chunkIdOf(inputs);
  if (restored) {
    // The process that sent it may have died with a request in flight: the server can still
    // apply it until that request would have timed out, and the reconcile delay after. A
    // journal of an earlier version has only the first send.
    const inFlight = restored.inFlightUntil ?? restored.attemptAt + job.attemptTimeoutMs;
    const wait = inFlight > 0 ? inFlight + job.reconcileDelayMs - job.ctx.clock.now() : 0;
    const found = await reconcile(job, id, inputs, restored.attemptAt, Math.max(0, wait));
    const lastSent = inFlight - job.attemptTimeoutMs;
    // Nothing in flight: nothing of the dead process can land late.
    if (inFlight > 0 && (!found || job.watching(id)))
      await job.watch(id, restored.attemptAt, lastSent);
    if (found) return resendMissing(job, found);
  }
  for (;;) {
    // Until the server's clock is known, look far back when reconciling: a local clock
    // ahead of the server's must not hide runs.
    const attemptAt = job.ctx.clock.now() - (job.ctx.clock.known ? 0 : 600_000);
    await job.journal.beginChunk({ id, attemptAt, keys: inputs.map((i) => i.key) });
    let lastSent = attemptAt;
    const result = await call(
      job.ctx,
      async (signal) => {
        // Journaled before each send: a resumed process must know how long this one may
        // still be applied.
        lastSent = job.ctx.clock.now();
        await job.journal.chunkInFlight(id, lastSent + job.attemptTimeoutMs);
        const answer = await send(job, id, inputs, signal);
        const status = answer.response?.status;
        if (status !== undefined && !AMBIGUOUS_STATUSES.has(status))
          await job.journal.chunkInFlight(id, 0);
        return answer;
      },
      true,
    );
    if (result.ok) {
      if (job.mode === "batch") {
        const { batchId } = result.data as { batchId: string };
        await job.journal.chunkSubmitted(id, { batchId });
        job.submitted({ batchId }, inputs.length, attemptAt);
      } else {
        const runs = (result.data as { workflowRuns: WorkflowRun[] }).workflowRuns;
        const order = requestOrder(inputs);
        const pairs = order.map((input, i): [string, string] => [input.key, runs[i]?.id as string]);
        await job.journal.chunkSubmitted(id, { runs: pairs });
        job.submitted({ runs: pairs }, pairs.length, attemptAt);
      }
      return;
    }
    if (result.ambiguous) {
      const found = await reconcile(job, id, inputs, attemptAt, job.reconcileDelayMs);
      // Not found: it may still be applied after the chunk is sent again. Found, for a chunk
      // sent more than once: the runs found may be an earlier attempt's, and this one may
      // still land. Either way a second set of runs is watched for.
      if (!found || job.watching(id)) await job.watch(id, attemptAt, lastSent);
      if (found) return resendMissing(job, found);
      continue;
    }
    const error = result.error;
    const status = isApiError(error) ? error.status : undefined;
    if (status === undefined || status === 401 || status === 403 || status === 429 || status >= 500)
      throw new SubmissionError(
        `Submitting ${inputs.length} input(s) failed: ${error.message}${status === 401 || status === 403 ? " Check the API token (EXTEND_API_KEY) and its workspace." : " Nothing was lost: resume the job when the API is reachable."}`,
        { cause: error },
      );
    // Its halves would get new chunk ids, and runs of the attempt that may still land carry
    // this one: stop rather than leave a second run unwatched. A resume sorts it out.
    if (job.watching(id))
      throw new SubmissionError(
        `A submission sent again was refused (${error.message}) while its first attempt may still be applied. Nothing is lost and nothing is sent twice: resume the job (CLI: --resume) once duplicateWatchMs has passed.`,
        { cause: error },
      );
    if (inputs.length === 1) {
      await job.journal.dropChunk(id);
      await job.refused(inputs[0] as ChunkInput, error);
      return;
    }
    // Both halves are recorded before the refused chunk is forgotten, so no input is ever
    // without a chunk: a resumed process re-reading its inputs must not send one again.
    const halves = [
      inputs.slice(0, Math.ceil(inputs.length / 2)),
      inputs.slice(Math.ceil(inputs.length / 2)),
    ];
    for (const half of halves)
      await job.journal.beginChunk({
        id: chunkIdOf(half),
        attemptAt,
        keys: half.map((i) => i.key),
      });
    await job.journal.dropChunk(id);
    for (const half of halves) await submitChunk(job, half);
    return;
  }
}

/** A server that applied part of a request is not one we know of; if it happens, the
 * inputs without a run go again on their own rather than being lost. */
async function resendMissing(job: SubmitJob, found: Found): Promise<void> {
  if (found.missing.length > 0) await submitChunk(job, found.missing);
}

/** Runs mode sends files first, then raw texts; the API answers runs in that order. */
function requestOrder(inputs: ChunkInput[]): ChunkInput[] {
  return [
    ...inputs.filter((i) => i.source.kind !== "rawText"),
    ...inputs.filter((i) => i.source.kind === "rawText"),
  ];
}

function fileInput(input: ChunkInput): Schemas["WorkflowRunFileInput"] {
  const { source } = input;
  if (source.kind === "url") return { fileUrl: source.url, fileName: source.name };
  if (source.kind === "fileId") return { fileId: source.fileId };
  return { fileId: input.fileId as string };
}

function send(
  job: SubmitJob,
  id: string,
  inputs: ChunkInput[],
  signal: AbortSignal,
): Promise<{ data?: unknown; error?: unknown; response?: Response }> {
  const common = { workflowId: job.workflowId, ...(job.version ? { version: job.version } : {}) };
  if (job.mode === "batch") {
    return job.client.POST("/workflow_runs/batch", {
      signal,
      body: {
        ...common,
        inputs: inputs.map((input) => ({
          ...(input.source.kind === "rawText"
            ? { rawText: input.source.rawText }
            : { file: fileInput(input) }),
          metadata: { ...job.metadata, ...input.metadata, [KEY_FIELD]: input.key },
        })),
      },
    });
  }
  const files = inputs.filter((i) => i.source.kind !== "rawText").map(fileInput);
  const rawTexts = inputs.flatMap((i) => (i.source.kind === "rawText" ? [i.source.rawText] : []));
  const inputsOf = files.length
    ? { files, ...(rawTexts.length ? { rawTexts } : {}) }
    : { rawTexts };
  return job.client.POST("/workflow_runs", {
    signal,
    body: {
      ...common,
      ...inputsOf,
      ...(job.priority !== undefined ? { priority: job.priority } : {}),
      // In runs mode metadata belongs to the request: the chunker only groups inputs whose
      // metadata is the same.
      metadata: { ...job.metadata, ...inputs[0]?.metadata, [CHUNK_FIELD]: id },
    },
  });
}

/**
 * Looks for the runs an ambiguous submission may have created, newest first, back to a
 * little before it was sent. Runs mode finds them by the chunk id in their metadata, batch
 * mode by the input key in the metadata of one run of each unknown batch. Resolves to true
 * when the chunk was applied (and records its runs), false when it is safe to send again.
 */
interface Found {
  /** Inputs of the chunk with no run among those found. */
  missing: ChunkInput[];
}

async function reconcile(
  job: SubmitJob,
  id: string,
  inputs: ChunkInput[],
  attemptAt: number,
  delayMs: number,
): Promise<Found | undefined> {
  // Give a request the server is still working on time to land before looking.
  await sleep(delayMs, job.ctx.signal);
  const turn = job.reconciler.queue.then(() => findChunk(job, id, inputs, attemptAt));
  job.reconciler.queue = turn.catch(() => {});
  // Anything sent again is sent after this turn, never from inside it: a resend that is
  // itself ambiguous reconciles in a later turn.
  const found = await turn;
  job.onReconcile(found !== undefined);
  return found;
}

/** What reconciliation learned about one run (runs mode) or batch (batch mode). */
export interface Sighting {
  /** The chunk it belongs to; null when it is not this job's. */
  chunk: string | null;
  runId: string;
  fileId?: string;
  fileName?: string;
}

async function findChunk(
  job: SubmitJob,
  id: string,
  inputs: ChunkInput[],
  attemptAt: number,
): Promise<Found | undefined> {
  const since = attemptAt - job.skewMs;
  const mine: Sighting[] = [];
  const batches: string[] = [];
  for await (const summary of runsCreatedSince(job, since)) {
    if (job.mode === "runs" ? summary.batchId : !summary.batchId) continue;
    const tag = summary.batchId ?? summary.id;
    // A batch is seen once per run of it: one look is enough.
    if (job.mode === "batch" && batches.includes(tag)) continue;
    const sighting = await sight(job, tag, summary.id);
    if (sighting?.chunk !== id) continue;
    if (job.mode === "batch") batches.push(tag);
    else mine.push(sighting);
  }
  if (job.mode === "batch") {
    const [batchId, ...extra] = batches;
    if (!batchId) return undefined;
    await job.journal.chunkSubmitted(id, { batchId });
    job.submitted({ batchId }, inputs.length, attemptAt);
    // Two attempts both applied: the second batch is a second run of every input.
    // A read that fails here is not fatal: the chunk is watched, and the watch looks again.
    if (extra.length > 0) await job.extraBatches(id, extra).catch(() => {});
    return { missing: [] };
  }
  if (mine.length === 0) return undefined;
  const pairs = matchRuns(inputs, mine);
  await job.journal.chunkSubmitted(id, { runs: pairs });
  job.submitted({ runs: pairs }, pairs.length, attemptAt);
  const paired = new Set(pairs.map(([, runId]) => runId));
  const extra = mine.filter((run) => !paired.has(run.runId));
  if (extra.length > 0) await job.extraRuns(id, inputs, extra).catch(() => {});
  const matched = new Set(pairs.map(([key]) => key));
  return { missing: inputs.filter((input) => !matched.has(input.key)) };
}

/**
 * Which chunk a run (or the batch it is in) belongs to: runs and batches already recorded
 * are skipped, the rest are fetched once and remembered, so reconciliations that look at the
 * same recent runs do not fetch them again.
 */
export async function sight(
  job: SubmitJob,
  tag: string,
  runId: string,
): Promise<Sighting | undefined> {
  const { seen } = job.reconciler;
  const known = seen.get(tag);
  if (known) return known;
  if (job.mode === "runs" ? await job.journal.keyOfRun(runId) : await job.journal.chunkOfBatch(tag))
    return undefined;
  const run = await getRun(job, runId);
  let chunk: string | null = null;
  if (job.mode === "runs") {
    const field = run.metadata?.[CHUNK_FIELD];
    chunk = typeof field === "string" ? field : null;
  } else {
    const key = run.metadata?.[KEY_FIELD];
    chunk = typeof key === "string" ? ((await job.journal.entry(key))?.chunkId ?? null) : null;
  }
  const file = run.files[0];
  const sighting: Sighting = {
    chunk,
    runId: run.id,
    ...(file?.id ? { fileId: file.id } : {}),
    ...(file?.name ? { fileName: file.name } : {}),
  };
  if (seen.size >= 20_000) seen.clear();
  seen.set(tag, sighting);
  return sighting;
}

/**
 * The workflow's runs created since `since` (server clock), newest first: where the runs of
 * a submission are looked for.
 */
export async function* runsCreatedSince(
  job: SubmitJob,
  since: number,
): AsyncGenerator<WorkflowRunSummary> {
  let pageToken: string | undefined;
  do {
    const result = await call(
      job.readCtx,
      (signal) =>
        job.client.GET("/workflow_runs", {
          signal,
          params: {
            query: {
              workflowId: job.workflowId,
              sortBy: "createdAt",
              sortDir: "desc",
              maxPageSize: 1000,
              ...(pageToken ? { nextPageToken: pageToken } : {}),
            },
          },
        }),
      false,
    );
    if (!result.ok)
      throw new SubmissionError(
        `Could not look for the runs of a submission: ${result.error.message} Resume the job when the API answers again; nothing was sent twice.`,
        { cause: result.error },
      );
    for (const summary of result.data.workflowRuns) {
      if (Date.parse(summary.createdAt) < since) return;
      yield summary;
    }
    pageToken = result.data.nextPageToken;
  } while (pageToken);
}

export async function getRun(job: SubmitJob, runId: string): Promise<WorkflowRun> {
  const result = await call(
    job.readCtx,
    (signal) =>
      job.client.GET("/workflow_runs/{workflowRunId}", {
        signal,
        params: { path: { workflowRunId: runId } },
      }),
    false,
  );
  if (!result.ok)
    throw new SubmissionError(
      `Could not read run ${runId} while checking a submission: ${result.error.message}`,
      { cause: result.error },
    );
  return result.data.workflowRun;
}

/**
 * Pairs a chunk's inputs with the runs found for it: uploaded and existing files by file id,
 * URLs by the file name the runner gave them, raw texts in request order (the API names
 * their files `raw_text_1.txt`, `raw_text_2.txt`, ...).
 */
export function matchRuns(inputs: ChunkInput[], runs: Sighting[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const left = new Set(runs);
  const take = (test: (run: Sighting) => boolean) => {
    for (const run of left)
      if (test(run)) {
        left.delete(run);
        return run;
      }
    return undefined;
  };
  const texts: ChunkInput[] = [];
  for (const input of inputs) {
    const { source } = input;
    if (source.kind === "rawText") {
      texts.push(input);
      continue;
    }
    const fileId = source.kind === "fileId" ? source.fileId : input.fileId;
    const run =
      source.kind === "url"
        ? take((r) => r.fileName === source.name)
        : take((r) => r.fileId === fileId);
    if (run) pairs.push([input.key, run.runId]);
  }
  const rest = [...left].sort((a, b) =>
    (a.fileName ?? "").localeCompare(b.fileName ?? "", "en", { numeric: true }),
  );
  // The API names raw texts `raw_text_<n>.txt` in request order: pair by that number (so a
  // partial set, two attempts of one request, or a file's second run left over pair right);
  // only when no run has such a name, pair by sorted name. Two runs of one name: the first
  // pairs, the other is a second run.
  const numberOf = (run: Sighting) =>
    Number(/^raw_text_(\d+)\.txt$/.exec(run.fileName ?? "")?.[1] ?? Number.NaN);
  const numbered = rest.filter((run) => numberOf(run) >= 1);
  const taken = new Set<string>();
  for (const run of numbered.length > 0 ? numbered : rest) {
    const name = run.fileName ?? run.runId;
    if (taken.has(name)) continue;
    const input = numbered.length > 0 ? texts[numberOf(run) - 1] : texts[taken.size];
    if (!input) continue;
    taken.add(name);
    pairs.push([input.key, run.runId]);
  }
  return pairs;
}
