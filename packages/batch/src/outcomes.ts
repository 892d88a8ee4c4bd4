import { isApiError, type WorkflowRun } from "@extendkit/core";
import { type InputSource, inputLabel } from "./inputs.js";
import type { JournalEntry } from "./journal.js";
import type { BatchOutcome } from "./types.js";

/** The outcome of an input whose run finished. */
export function runOutcome(entry: JournalEntry, run: WorkflowRun): BatchOutcome {
  const failed = run.status === "FAILED" || run.status === "REJECTED";
  const reason = run.failureMessage ?? run.failureReason ?? run.rejectionNote;
  return {
    key: entry.key,
    input: inputLabel(entry.source),
    status: run.status as BatchOutcome["status"],
    runId: run.id,
    ...(run.batchId ? { batchId: run.batchId } : {}),
    ...(entry.fileId ? { fileId: entry.fileId } : {}),
    ...(failed
      ? {
          error: {
            message: reason ?? `The run ended ${run.status}.`,
            ...(run.failureReason ? { code: run.failureReason } : {}),
          },
        }
      : {}),
    run,
    finishedAt: new Date().toISOString(),
  };
}

/** The outcome of an input that never got a run. */
export function errorOutcome(
  input: { key: string; source: InputSource; fileId?: string },
  error: unknown,
): BatchOutcome {
  return {
    key: input.key,
    input: inputLabel(input.source),
    status: "ERROR",
    ...(input.fileId ? { fileId: input.fileId } : {}),
    error: errorInfo(error),
    finishedAt: new Date().toISOString(),
  };
}

export function errorInfo(error: unknown): NonNullable<BatchOutcome["error"]> {
  if (isApiError(error))
    return {
      message: error.message,
      status: error.status,
      ...(error.code ? { code: error.code } : {}),
    };
  return { message: error instanceof Error ? error.message : String(error) };
}
