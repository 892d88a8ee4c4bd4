import type { BatchStats, BatchSummary } from "./stats.js";

/** Something that writes text: `process.stderr`, or a test's buffer. */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/**
 * Outcomes per second over the last `windowMs`, from samples of the finished count: recent
 * enough to show a slowdown, smooth enough not to flicker.
 */
export function createRateMeter(windowMs = 10_000) {
  const samples: Array<[at: number, count: number]> = [];
  return (at: number, count: number): number => {
    samples.push([at, count]);
    while (samples.length > 2 && (samples[0] as [number, number])[0] < at - windowMs)
      samples.shift();
    const [t0, c0] = samples[0] as [number, number];
    return at > t0 ? ((count - c0) * 1000) / (at - t0) : 0;
  };
}

/** One progress line: counts, rate, ETA and trouble. `bar` adds a bar for terminals. */
export function progressLine(
  stats: BatchStats,
  rate: number,
  now: number,
  bar: boolean,
  width = 80,
): string {
  const total = stats.expected;
  const done = stats.finished;
  const parts: string[] = [];
  parts.push(total !== undefined ? `${done}/${total}` : `${done} done`);
  if (total) parts.push(`${Math.floor((done / total) * 100)}%`);
  parts.push(`${rate.toFixed(1)}/s`);
  if (total !== undefined && rate > 0)
    parts.push(`ETA ${duration(((total - done) / rate) * 1000)}`);
  parts.push(`in flight ${stats.inFlight}`);
  if (stats.failed > 0) parts.push(`failed ${stats.failed}`);
  if (stats.retries > 0) parts.push(`retries ${stats.retries}`);
  if (stats.pausedMs > 0) parts.push(`rate-limited ${duration(stats.pausedMs)}`);
  parts.push(`elapsed ${duration(now - stats.startedAt)}`);
  const text = parts.join(" | ");
  if (!bar || !total) return text;
  const room = Math.max(10, Math.min(30, width - text.length - 4));
  const filled = Math.round((done / total) * room);
  return `[${"#".repeat(filled)}${"-".repeat(room - filled)}] ${text}`;
}

/**
 * Shows a job's progress: on a terminal, one line redrawn in place with a bar; elsewhere (CI
 * logs, files) a plain line every `everyMs`.
 */
export function createProgress(sink: TextSink, read: () => BatchStats, everyMs?: number) {
  const tty = sink.isTTY === true;
  const interval = everyMs ?? (tty ? 200 : 10_000);
  const meter = createRateMeter();
  const draw = () => {
    const stats = read();
    const now = Date.now();
    const recent = meter(now, stats.finished);
    // Before the meter has two samples, the average since the start stands in.
    const rate = recent || (stats.finished * 1000) / Math.max(1, now - stats.startedAt);
    const line = progressLine(stats, rate, now, tty, sink.columns ?? 80);
    sink.write(tty ? `\r\x1b[K${line}` : `progress: ${line}\n`);
  };
  const timer = setInterval(draw, interval);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      draw();
      if (tty) sink.write("\n");
    },
  };
}

/** The summary a person reads at the end of a job. */
export function summaryText(summary: BatchSummary, out?: string): string {
  const lines: string[] = [];
  const counts = Object.entries(summary.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status} ${n}`)
    .join(", ");
  lines.push(`${summary.total} inputs: ${counts || "none"}`);
  lines.push(
    `${summary.submitted} submitted in ${summary.submitRequests} requests, ${summary.retries} retries, ${summary.reconciled} ambiguous submissions checked; ${duration(summary.durationMs)} (${summary.finishedPerSecond.toFixed(1)} outcomes/s)${summary.resumed ? `; ${summary.resumed} outcomes from before the resume` : ""}`,
  );
  const { found, cancelled } = summary.duplicateRuns;
  if (found > 0)
    lines.push(
      `${found} duplicate run(s) found (submissions the server applied after they were sent again): ${cancelled} cancelled, ${found - cancelled} could not be (already finished); each is in its input's duplicateRuns`,
    );
  if (summary.failures.length > 0) {
    lines.push(`failures (${summary.failed}${summary.failed > 10 ? ", first 10" : ""}):`);
    for (const failure of summary.failures.slice(0, 10))
      lines.push(`  ${failure.status} ${failure.input}: ${failure.reason}`);
  }
  if (out) lines.push(`results: ${out}`);
  return `${lines.join("\n")}\n`;
}
