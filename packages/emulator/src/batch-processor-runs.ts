import type { Schemas } from "@extendkit/core";
import type { Context } from "./context.js";
import { isStopReason } from "./engine.js";
import { runProcessorConfig } from "./processing.js";

/** Runs an evaluation set's processor over each of its items (the job of `batch_processor_run`). */
export async function batchProcessorRunJob(ctx: Context, id: string, signal: AbortSignal) {
  const stored = ctx.store.get("batch_processor_run", id);
  if (!stored || stored.data.status === "PROCESSED" || stored.data.status === "FAILED") return;
  const save = (run: Schemas["BatchProcessorRun"]) =>
    ctx.store.update("batch_processor_run", id, run, { index: { status: run.status } });
  let run: Schemas["BatchProcessorRun"] = { ...stored.data, status: "PROCESSING", runCount: 0 };
  save(run);
  try {
    const processor = ctx.store.get("processor", run.processorId)?.data;
    if (!processor) throw new Error(`processor ${run.processorId} no longer exists`);
    let pages = 0;
    for (const item of ctx.store.all("evaluation_set_item", { parentId: run.sourceId as string })) {
      await runProcessorConfig(
        ctx,
        processor.draftVersion.config,
        { fileId: item.data.fileId },
        signal,
      );
      pages += ctx.store.get("file", item.data.fileId)?.data.metadata.pageCount ?? 1;
      run = { ...run, runCount: run.runCount + 1, metrics: { ...run.metrics, numPages: pages } };
      save(run);
    }
    save({ ...run, status: "PROCESSED" });
  } catch (error) {
    if (isStopReason(error)) return;
    save({ ...run, status: "FAILED" });
  }
}
