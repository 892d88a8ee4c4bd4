/**
 * `@extendkit/batch`: run thousands of files through an Extend workflow, exactly once,
 * resumable after a crash, within the API's rate limits. The library is {@link runBatch};
 * the `extendkit batch run` CLI wraps it.
 *
 * @example
 * ```ts
 * import { runBatch } from "@extendkit/batch";
 *
 * const job = runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: ["invoices/0001.pdf", "invoices/0002.pdf"],
 *   out: "results.jsonl",
 * });
 * for await (const outcome of job) console.log(outcome.input, outcome.status);
 * ```
 *
 * @packageDocumentation
 */
export type { RetryPolicy } from "./call.js";
export { openFileJournal } from "./file-journal.js";
export { fullJitter, RetryBudgetExhaustedError, type RetryBudgetOptions } from "./gate.js";
export {
  type BatchInput,
  type InputOptions,
  type InputSource,
  InvalidInputError,
  type PreparedInput,
  prepareInput,
} from "./inputs.js";
export {
  type BatchJournal,
  type ClaimResult,
  createMemoryJournal,
  type DuplicateRun,
  type JournalChunk,
  type JournalEntry,
  JournalExistsError,
  type JournalJob,
  JournalMismatchError,
  LeaseLostError,
  type SharedRateGate,
  type TakeOver,
} from "./journal.js";
export type { BatchOptions } from "./options.js";
export { type BatchJob, runBatch } from "./runner.js";
export type { BatchStats, BatchSummary } from "./stats.js";
export { CHUNK_FIELD, KEY_FIELD, SubmissionError } from "./submit.js";
export { type BatchOutcome, FAILED_STATUSES, type OutcomeStatus } from "./types.js";
