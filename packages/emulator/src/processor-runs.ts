import type { Schemas } from "@extendkit/core";
import type { Context } from "./context.js";
import { isStopReason } from "./engine.js";
import { badRequest, notFound } from "./errors.js";
import { fileView } from "./files.js";
import { newId, PREFIX } from "./ids.js";
import { runProcessorConfig } from "./processing.js";
import { ProcessingError } from "./processors/errors.js";

type ProcessorRun = Schemas["ProcessorRun"];

export interface ProcessorRunInternal {
  fileId: string;
}

/** A new processor run, `PROCESSING` from the start as the service creates them. */
export function newProcessorRun(
  ctx: Context,
  input: {
    processor: Schemas["Processor"];
    version: Schemas["ProcessorVersion"];
    config: Schemas["ProcessorConfig"];
    file: Schemas["File"];
    metadata?: Schemas["RunMetadata"];
    source: Schemas["ProcessorRunSource"];
    sourceId?: string;
  },
): ProcessorRun {
  const id = newId(PREFIX.processorRun);
  const run: ProcessorRun = {
    object: "document_processor_run",
    id,
    processorId: input.processor.id,
    processorVersionId: input.version.id,
    processorName: input.processor.name,
    status: "PROCESSING",
    ...(input.metadata ? { metadata: input.metadata } : {}),
    reviewed: false,
    edited: false,
    edits: {},
    type: input.processor.type,
    config: input.config,
    files: [input.file],
    mergedProcessors: [],
    url: `https://dashboard.extend.ai/processors/${input.processor.id}?processorRunId=${id}`,
  };
  ctx.store.insert(
    "processor_run",
    id,
    run,
    {
      parentId: input.processor.id,
      status: run.status,
      type: run.type,
      source: input.source,
      sourceId: input.sourceId ?? null,
      name: input.file.name,
    },
    { fileId: input.file.id } satisfies ProcessorRunInternal,
  );
  return run;
}

/** The API view: files with fresh presigned URLs. */
export function processorRunView(ctx: Context, run: ProcessorRun): ProcessorRun {
  return { ...run, files: run.files.map((f) => fileView(ctx, f)) };
}

export function getProcessorRun(ctx: Context, id: string) {
  const stored = ctx.store.get<"processor_run", ProcessorRunInternal>("processor_run", id);
  if (!stored) throw notFound("Processor run", id);
  return stored;
}

export function saveProcessorRun(ctx: Context, run: ProcessorRun) {
  ctx.store.update("processor_run", run.id, run, { index: { status: run.status } });
}

/** Executes a processor run to its end; answers the finished run (or undefined if it was stopped). */
export async function executeProcessorRun(
  ctx: Context,
  id: string,
  signal: AbortSignal,
): Promise<ProcessorRun | undefined> {
  const stored = ctx.store.get<"processor_run", ProcessorRunInternal>("processor_run", id);
  if (stored?.data.status !== "PROCESSING") return undefined;
  try {
    const output = await runProcessorConfig(
      ctx,
      stored.data.config,
      { fileId: stored.internal.fileId },
      signal,
    );
    const fresh = ctx.store.get("processor_run", id)?.data;
    if (fresh?.status !== "PROCESSING") return undefined;
    const done: ProcessorRun = { ...fresh, status: "PROCESSED", output, initialOutput: output };
    saveProcessorRun(ctx, done);
    return done;
  } catch (error) {
    if (isStopReason(error)) return undefined;
    const fresh = ctx.store.get("processor_run", id)?.data;
    if (fresh?.status !== "PROCESSING") return undefined;
    const failed: ProcessorRun = {
      ...fresh,
      status: "FAILED",
      failureReason: error instanceof ProcessingError ? error.code : "INTERNAL_ERROR",
      failureMessage: (error as Error).message,
    };
    saveProcessorRun(ctx, failed);
    return failed;
  }
}

/** The job of a direct (API) processor run: execute it and announce the result. */
export async function processorRunJob(ctx: Context, id: string, signal: AbortSignal) {
  const run = await executeProcessorRun(ctx, id, signal);
  if (!run) return;
  ctx.emit(
    run.status === "PROCESSED" ? "processor_run.processed" : "processor_run.failed",
    processorRunView(ctx, run),
    {
      processorId: run.processorId,
    },
  );
}

/** Only a run in `PROCESSING` can be cancelled; it answers `CANCELLED` at once. */
export function cancelProcessorRun(ctx: Context, id: string): ProcessorRun {
  const run = getProcessorRun(ctx, id).data;
  if (run.status !== "PROCESSING") {
    throw badRequest(
      `Processor run ${id} is ${run.status}; only a run in PROCESSING can be cancelled.`,
    );
  }
  const cancelled: ProcessorRun = { ...run, status: "CANCELLED" };
  saveProcessorRun(ctx, cancelled);
  ctx.store.finishJob(id);
  ctx.engine.abort(id);
  return cancelled;
}

export function processorRunSummary(stored: {
  data: ProcessorRun;
  createdAt: string;
  updatedAt: string;
}): Schemas["ProcessorRunSummary"] {
  const run = stored.data;
  return {
    id: run.id,
    status: run.status,
    processorId: run.processorId,
    processorName: run.processorName,
    processorVersionId: run.processorVersionId,
    type: run.type,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}
