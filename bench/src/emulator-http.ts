import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import autocannon from "autocannon";
import { type OpenLoopResult, openLoop } from "./open-loop.js";
import type { Row } from "./types.js";

const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = 32;
export const TOKEN = "bench_token";

/** Starts the emulator CLI in its own process, so the load generator does not share its event loop. */
export async function startEmulatorProcess(
  extra: string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  const require = createRequire(import.meta.url);
  const cli = require
    .resolve("@extendkit/emulator/package.json")
    .replace(/package\.json$/, "dist/cli.js");
  const child = spawn(
    process.execPath,
    [
      cli,
      ...["--port", "0", "--db", ":memory:", "--quiet", "--page-latency", "0", "--token", TOKEN],
      ...extra,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /base URL:\s+(\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`emulator exited with ${code}: ${out}`)));
  });
  return { url, child };
}

/** Waits until the emulator has no queued or running work (its admin health endpoint). */
async function waitIdle(url: string) {
  for (;;) {
    const health = (await (await fetch(`${url}/_emulator/health`)).json()) as {
      queuedJobs: number;
    };
    if (health.queuedJobs === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const headers = {
  authorization: `Bearer ${TOKEN}`,
  "x-extend-api-version": "2025-04-21",
  "content-type": "application/json",
};

async function load(options: autocannon.Options) {
  const result = await autocannon({
    connections: CONNECTIONS,
    duration: DURATION_SECONDS,
    headers,
    ...options,
  });
  if (options.overallRate && result.requests.average < options.overallRate * 0.9) {
    throw new Error(
      `${options.url}: could not hold ${options.overallRate} req/s (${result.requests.average})`,
    );
  }
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `${options.method ?? "GET"} ${options.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`,
    );
  }
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
  };
}

/** Requests per second and p99 latency of the emulator for a read and a run-creating write. */
export async function emulatorHttp(): Promise<Row[]> {
  const { url, child } = await startEmulatorProcess();
  try {
    const created = await fetch(`${url}/workflow_runs`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        workflowId: "workflow_invoices",
        rawTexts: ["Invoice Number: INV-1\nTotal: $10.00"],
      }),
    });
    const { workflowRuns } = (await created.json()) as { workflowRuns: Array<{ id: string }> };
    const runId = workflowRuns[0]?.id;
    // Warm up the JIT and the statement cache before measuring.
    await autocannon({
      url: `${url}/workflow_runs/${runId}`,
      connections: 8,
      duration: 2,
      headers,
    });

    const getUrl = `${url}/workflow_runs/${runId}`;
    const body = JSON.stringify({
      workflowId: "workflow_invoices",
      rawTexts: [
        "ACME Ltd\nINVOICE\nInvoice Number: INV-42\nInvoice Date: 2025-03-14\nTotal Due: $120.00",
      ],
    });
    const post = { url: `${url}/workflow_runs`, method: "POST" as const, body };
    // Warm up the write path too (JIT, statement cache, the engine's code), then measure
    // latency at the target rate (a fixed arrival rate) and the most the emulator serves.
    await autocannon({ ...post, connections: 8, duration: 3, headers });
    // Each measurement starts from a quiet emulator: the runs created before have finished.
    const quiet = () => waitIdle(url);
    const durationMs = DURATION_SECONDS * 1000;
    await quiet();
    const getAtTarget = await openLoop({ url: getUrl, headers, rate: 2000, durationMs });
    await quiet();
    const getMax = await load({ url: getUrl });
    await quiet();
    const postAtTarget = await openLoop({ ...post, headers, rate: 500, durationMs });
    await quiet();
    const postMax = await load(post);
    const where = `${DURATION_SECONDS} s over loopback; emulator in its own process (in-memory SQLite, default seed), idle at the start of each line; the runs a line creates execute during it`;
    const rated = (name: string, m: OpenLoopResult, target: number): Row => ({
      benchmark: `emulator ${name} at ${target} req/s`,
      result: `p50 ${m.p50} ms, p99 ${m.p99} ms, max ${m.max} ms (${Math.round(m.rate)} req/s sent)`,
      against: `p99 < 50 ms (×${(m.p99 / 50).toFixed(2)} of the limit)`,
      verdict: m.p99 < 50 ? "meets" : "misses",
      method: `open-loop generator at a fixed arrival rate, latency from each request's due time, ${m.sent} requests measured after a 1 s warm-up; ${where}`,
    });
    const max = (name: string, m: Awaited<ReturnType<typeof load>>, target: number): Row => ({
      benchmark: `emulator ${name}, max throughput`,
      result: `${Math.round(m.rps)} req/s, p99 ${m.p99} ms`,
      against: `≥ ${target} req/s (×${(m.rps / target).toFixed(2)})`,
      verdict: m.rps >= target ? "meets" : "misses",
      method: `autocannon, ${CONNECTIONS} connections; ${where}`,
    });
    return [
      rated("GET /workflow_runs/{id}", getAtTarget, 2000),
      max("GET /workflow_runs/{id}", getMax, 2000),
      rated("POST /workflow_runs", postAtTarget, 500),
      max("POST /workflow_runs", postMax, 500),
    ];
  } finally {
    child.kill("SIGTERM");
  }
}
