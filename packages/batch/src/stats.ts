import { type BatchOutcome, FAILED_STATUSES, type OutcomeStatus } from "./types.js";

/** A job's counters, as progress reports and the summary show them. */
export interface BatchStats {
  /** Inputs read from the input iterable (duplicates included). */
  read: number;
  /** Number of inputs expected, when the caller said. */
  expected?: number;
  /** Path inputs uploaded. */
  uploaded: number;
  /** Inputs whose runs exist on the server. */
  submitted: number;
  /** Submission requests that created runs. */
  submitRequests: number;
  /** Inputs with an outcome (from the journal of an earlier process too). */
  finished: number;
  /** Outcomes that are failures: `FAILED`, `REJECTED`, `CANCELLED`, `ERROR`. */
  failed: number;
  /** Inputs whose key came earlier in the job (`DUPLICATE` outcomes). */
  duplicates: number;
  /** Inputs read but without an outcome yet. */
  inFlight: number;
  /** Requests sent again after a failure or a throttle. */
  retries: number;
  /** Ambiguous submissions checked against the server, and how many had been applied. */
  reconciled: number;
  /** Ambiguous submissions that turned out to have created their runs. */
  reconciledApplied: number;
  /** Second runs found (a submission applied after it was sent again), and how many were cancelled. */
  duplicateRuns: number;
  /** Second runs the runner cancelled. */
  duplicateRunsCancelled: number;
  /** Submission requests allowed in flight now (AIMD). */
  concurrency: number;
  /** Milliseconds left in a rate-limit pause, 0 when none. */
  pausedMs: number;
  /** When the job started, in ms since the epoch. */
  startedAt: number;
}

/** What a job came to. */
export interface BatchSummary {
  /** Outcomes, one per input read (duplicates included). */
  total: number;
  /** Number of outcomes of each status. */
  byStatus: Partial<Record<OutcomeStatus, number>>;
  /** The first 100 failures, with reasons. */
  failures: Array<{
    /** The input's key. */
    key: string;
    /** The input: its path, URL or file id, or the start of its text. */
    input: string;
    /** The failed status. */
    status: OutcomeStatus;
    /** Why it failed: the error's message, or the status. */
    reason: string;
  }>;
  /** Outcomes that are failures: `FAILED`, `REJECTED`, `CANCELLED`, `ERROR`. */
  failed: number;
  /** Inputs whose runs exist on the server. */
  submitted: number;
  /** Submission requests that created runs. */
  submitRequests: number;
  /** Requests sent again after a failure or a throttle. */
  retries: number;
  /** Ambiguous submissions checked against the server. */
  reconciled: number;
  /**
   * Second runs of inputs, found among the runs of submissions that were sent again (the
   * server applied the first attempt late), each reported in its input's `duplicateRuns`.
   */
  duplicateRuns: { found: number; cancelled: number };
  /** Outcomes that came from the journal of an earlier process. */
  resumed: number;
  /** How long the job ran in this process, in milliseconds. */
  durationMs: number;
  /** Inputs submitted per second of this process. */
  submittedPerSecond: number;
  /** Outcomes per second of this process (journal outcomes excluded). */
  finishedPerSecond: number;
}

const MAX_FAILURES = 100;

export function createTally(startedAt: number) {
  const byStatus: Partial<Record<OutcomeStatus, number>> = {};
  const failures: BatchSummary["failures"] = [];
  let resumed = 0;
  const duplicates = { found: 0, cancelled: 0 };
  const stats: BatchStats = {
    read: 0,
    uploaded: 0,
    submitted: 0,
    submitRequests: 0,
    finished: 0,
    failed: 0,
    duplicates: 0,
    inFlight: 0,
    retries: 0,
    reconciled: 0,
    reconciledApplied: 0,
    duplicateRuns: 0,
    duplicateRunsCancelled: 0,
    concurrency: 0,
    pausedMs: 0,
    startedAt,
  };
  return {
    stats,
    record(outcome: BatchOutcome) {
      stats.finished++;
      // Counted from the outcomes, so duplicates reported before a resume count too.
      for (const duplicate of outcome.duplicateRuns ?? []) {
        duplicates.found++;
        if (duplicate.cancelled) duplicates.cancelled++;
      }
      byStatus[outcome.status] = (byStatus[outcome.status] ?? 0) + 1;
      if (outcome.status === "DUPLICATE") stats.duplicates++;
      if (outcome.fromJournal) resumed++;
      if (FAILED_STATUSES.has(outcome.status)) {
        stats.failed++;
        if (failures.length < MAX_FAILURES)
          failures.push({
            key: outcome.key,
            input: outcome.input,
            status: outcome.status,
            reason: outcome.error?.message ?? outcome.status,
          });
      }
    },
    summary(now: number): BatchSummary {
      const seconds = Math.max(0.001, (now - startedAt) / 1000);
      return {
        total: stats.finished,
        byStatus: { ...byStatus },
        failures: [...failures],
        failed: stats.failed,
        submitted: stats.submitted,
        submitRequests: stats.submitRequests,
        retries: stats.retries,
        reconciled: stats.reconciled,
        duplicateRuns: { found: duplicates.found, cancelled: duplicates.cancelled },
        resumed,
        durationMs: now - startedAt,
        submittedPerSecond: stats.submitted / seconds,
        finishedPerSecond: (stats.finished - resumed) / seconds,
      };
    },
  };
}
