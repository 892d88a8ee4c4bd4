import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import autocannon from "autocannon";
import type { Row } from "./types.js";

const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = 32;
const TOKEN = "bench_token";

/** Starts the emulator CLI in its own process, so the load generator does not share its event loop. */
async function startEmulatorProcess(): Promise<{ url: string; child: ChildProcess }> {
  const require = createRequire(import.meta.url);
  const cli = require.resolve("@extendkit/emulator/package.json").replace(/package\.json$/, "dist/cli.js");
  const child = spawn(process.execPath, [cli, "--port", "0", "--db", ":memory:", "--quiet", "--page-latency", "0", "--token", TOKEN], {
    stdio: ["ignore", "pipe", "inherit"],
  });
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

const headers = {
  authorization: `Bearer ${TOKEN}`,
  "x-extend-api-version": "2025-04-21",
  "content-type": "application/json",
};

async function load(options: autocannon.Options) {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_SECONDS, headers, ...options });
  if (options.overallRate && result.requests.average < options.overallRate * 0.9) {
    throw new Error(`${options.url}: could not hold ${options.overallRate} req/s (${result.requests.average})`);
  }
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${options.method ?? "GET"} ${options.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total };
}

/** Requests per second and p99 latency of the emulator for a read and a run-creating write. */
export async function emulatorHttp(): Promise<Row[]> {
  const { url, child } = await startEmulatorProcess();
  try {
    const created = await fetch(`${url}/workflow_runs`, {
      method: "POST",
      headers,
      body: JSON.stringify({ workflowId: "workflow_invoices", rawTexts: ["Invoice Number: INV-1\nTotal: $10.00"] }),
    });
    const { workflowRuns } = (await created.json()) as { workflowRuns: Array<{ id: string }> };
    const runId = workflowRuns[0]?.id;
    // Warm up the JIT and the statement cache before measuring.
    await autocannon({ url: `${url}/workflow_runs/${runId}`, connections: 8, duration: 2, headers });

    const getUrl = `${url}/workflow_runs/${runId}`;
    const body = JSON.stringify({
      workflowId: "workflow_invoices",
      rawTexts: ["ACME Ltd\nINVOICE\nInvoice Number: INV-42\nInvoice Date: 2025-03-14\nTotal Due: $120.00"],
    });
    const post = { url: `${url}/workflow_runs`, method: "POST" as const, body };
    // Latency at the target rate (a fixed arrival rate), then the most the emulator serves.
    const getAtTarget = await load({ url: getUrl, overallRate: 2000 });
    const getMax = await load({ url: getUrl });
    const postAtTarget = await load({ ...post, overallRate: 500 });
    const postMax = await load(post);
    const method = `autocannon over loopback, ${CONNECTIONS} connections, ${DURATION_SECONDS} s per line; emulator in its own process (in-memory SQLite, default seed, created runs executing meanwhile)`;
    const row = (name: string, m: typeof getMax, target: number, rated: boolean): Row => ({
      benchmark: `emulator ${name}${rated ? ` at ${target} req/s` : ", max throughput"}`,
      result: rated ? `p50 ${m.p50} ms, p99 ${m.p99} ms (${Math.round(m.rps)} req/s held)` : `${Math.round(m.rps)} req/s, p99 ${m.p99} ms`,
      against: rated ? `p99 < 50 ms (×${(m.p99 / 50).toFixed(2)} of the limit)` : `≥ ${target} req/s (×${(m.rps / target).toFixed(2)})`,
      verdict: rated ? (m.p99 < 50 ? "meets" : "misses") : m.rps >= target ? "meets" : "misses",
      method,
    });
    return [
      row("GET /workflow_runs/{id}", getAtTarget, 2000, true),
      row("GET /workflow_runs/{id}", getMax, 2000, false),
      row("POST /workflow_runs", postAtTarget, 500, true),
      row("POST /workflow_runs", postMax, 500, false),
    ];
  } finally {
    child.kill("SIGTERM");
  }
}
