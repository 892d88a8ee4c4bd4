import type { WorkflowRun } from "@extendkit/core";

/**
 * How an input ended:
 * - a run's final status: `PROCESSED`, `NEEDS_REVIEW` (waiting for a person; the batch does
 *   not wait), `FAILED`, `REJECTED` or `CANCELLED`;
 * - `ERROR`: the input never got a run (its upload failed, or the API refused it), with
 *   `error` saying why;
 * - `DUPLICATE`: the same key came earlier in the job; that input's outcome stands for it.
 */
export type OutcomeStatus =
  | "PROCESSED"
  | "NEEDS_REVIEW"
  | "FAILED"
  | "REJECTED"
  | "CANCELLED"
  | "ERROR"
  | "DUPLICATE";

/** One input's outcome: a line of the results file. */
export interface BatchOutcome {
  /** The input's key (its identity in the job and the journal). */
  key: string;
  /** The input: its path, URL or file id, or the start of its text. */
  input: string;
  /** How the input ended. */
  status: OutcomeStatus;
  /** The input's run, when it got one. */
  runId?: string;
  /** Set when the run came from `POST /workflow_runs/batch`. */
  batchId?: string;
  /** The uploaded file, for path inputs. */
  fileId?: string;
  /** Why the input failed, for `ERROR`, `FAILED` and `REJECTED`. */
  error?: {
    /** What went wrong. */
    message: string;
    /** The HTTP status, when the API refused the input. */
    status?: number;
    /** The API's error code, or a failed run's `failureReason`. */
    code?: string;
  };
  /** The finished run with its outputs. */
  run?: WorkflowRun;
  /** When the runner learned the outcome (ISO 8601). */
  finishedAt: string;
  /** True when the outcome was read from the journal of an earlier process (on resume). */
  fromJournal?: boolean;
  /**
   * Second runs the input got: a submission the server applied after the runner had given up
   * on it and sent it again (the API has no idempotency key). Each was cancelled while the
   * API allowed it; `runId` stays this input's one outcome.
   */
  duplicateRuns?: Array<{
    /** The extra run. */
    runId: string;
    /** Whether it was cancelled (false: it had finished already, or the cancel failed). */
    cancelled: boolean;
  }>;
}

/**
 * Statuses that count as failures in the summary and the CLI's exit status.
 *
 * @example
 * ```ts
 * for await (const outcome of job) {
 *   if (FAILED_STATUSES.has(outcome.status)) console.error(outcome.input, outcome.status);
 * }
 * ```
 */
export const FAILED_STATUSES: ReadonlySet<OutcomeStatus> = new Set([
  "FAILED",
  "REJECTED",
  "CANCELLED",
  "ERROR",
]);

/** Workflow run statuses after which a run will not change on its own. */
export const FINAL_RUN_STATUSES: ReadonlySet<string> = new Set([
  "PROCESSED",
  "NEEDS_REVIEW",
  "FAILED",
  "REJECTED",
  "CANCELLED",
]);
