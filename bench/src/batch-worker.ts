/**
 * One batch job in its own process, so its memory is measured alone: reads a JSON config
 * from argv, runs `runBatch` over generated raw texts, and prints what it measured as JSON.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import { runBatch } from "@extendkit/batch";

interface Config {
  url: string;
  token: string;
  workflowId: string;
  inputs: number;
  mode: "runs" | "batch";
  concurrency: number;
  maxInFlight?: number;
  readConcurrency?: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as Config & { floor?: number };

// The reference: what this Node does with nothing but fetch() making the same kind of GETs
// (one finished run each, 8 at a time), to show the runtime's own peak for that traffic.
if (config.floor) {
  const headers = { authorization: `Bearer ${config.token}`, "x-extend-api-version": "2025-04-21" };
  const created = (await (
    await fetch(`${config.url}/workflow_runs`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({
        workflowId: config.workflowId,
        rawTexts: ["Invoice #F-1, total $1.00"],
      }),
    })
  ).json()) as { workflowRuns: Array<{ id: string }> };
  const id = created.workflowRuns[0]?.id;
  let left = config.floor;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left-- > 0)
        await (await fetch(`${config.url}/workflow_runs/${id}`, { headers })).json();
    }),
  );
  process.stdout.write(JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), "extendkit-bench-batch-"));

function* texts(n: number) {
  for (let i = 0; i < n; i++)
    yield { rawText: `Invoice #B-${i}\nDate: 2026-11-30\nTotal: $${(i % 900) + 100}.00` };
}

const started = performance.now();
// Submission progress over time, to find the steady rate after the initial burst.
const samples: Array<[ms: number, requests: number]> = [];
const rss: number[] = [];
const job = runBatch({
  client: { token: config.token, baseUrl: config.url },
  workflowId: config.workflowId,
  inputs: texts(config.inputs),
  mode: config.mode,
  concurrency: config.concurrency,
  ...(config.maxInFlight ? { maxInFlight: config.maxInFlight } : {}),
  ...(config.readConcurrency ? { readConcurrency: config.readConcurrency } : {}),
  journal: process.env.BENCH_NOJOURNAL ? false : join(dir, "job.journal"),
  ...(process.env.BENCH_NOOUT ? {} : { out: join(dir, "results.jsonl") }),
});
const timer = setInterval(() => {
  samples.push([performance.now() - started, job.stats.submitRequests]);
  rss.push(process.memoryUsage().rss);
}, 100);
// BENCH_MEMLOG=1 prints the memory breakdown every second, to see where memory goes.
const memlog = process.env.BENCH_MEMLOG
  ? setInterval(() => {
      const m = process.memoryUsage();
      const mbOf = (n: number) => Math.round(n / 1048576);
      process.stderr.write(
        `${v8
          .getHeapSpaceStatistics()
          .map((x) => `${x.space_name.replace("_space", "")} ${mbOf(x.space_size)}`)
          .join(
            " ",
          )} | rss ${mbOf(m.rss)} heap ${mbOf(m.heapUsed)}/${mbOf(m.heapTotal)} external ${mbOf(m.external)} buffers ${mbOf(m.arrayBuffers)} finished ${job.stats.finished} inFlight ${job.stats.inFlight}\n`,
      );
    }, 1000)
  : undefined;
let outcomes = 0;
for await (const _ of job) outcomes++;
clearInterval(timer);
clearInterval(memlog);
const summary = await job.done();
rmSync(dir, { recursive: true, force: true });
// What the job still holds once garbage is gone (the runner is started with --expose-gc).
(globalThis as { gc?: () => void }).gc?.();
const liveHeapBytes = process.memoryUsage().heapUsed;
process.stdout.write(
  JSON.stringify({
    outcomes,
    failed: summary.failed,
    submitRequests: summary.submitRequests,
    retries: summary.retries,
    durationMs: performance.now() - started,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    liveHeapBytes,
    rss,
    samples,
  }),
);
