import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_SEED } from "@extendkit/emulator";
import { startEmulatorProcess, TOKEN } from "./emulator-http.js";
import type { Row } from "./types.js";

// Submission requests per second the emulator allows (its `run` category).
const R = Number(process.env.BENCH_BATCH_RATE ?? 10);
// Long enough for the steady state to dominate: 20 s of submissions at the limit.
const RATE_INPUTS = R * 50 * 20;
const MEMORY_INPUTS = (process.env.BENCH_BATCH_MEMORY ?? "10000,100000").split(",").map(Number);
const FAULTS = "status=500@0.03,status=503@0.03,reset@0.02,lost-response@0.02";

interface WorkerResult {
  outcomes: number;
  failed: number;
  submitRequests: number;
  retries: number;
  durationMs: number;
  maxRssBytes: number;
  liveHeapBytes: number;
  samples: Array<[number, number]>;
}

// A one-step workflow, so the emulator keeps up with the runner and the figures measure the
// runner, not the emulator's extraction.
function seedFile(): string {
  const path = join(tmpdir(), `extendkit-bench-seed-${process.pid}.json`);
  const seed = {
    ...DEFAULT_SEED,
    workflows: [
      ...(DEFAULT_SEED.workflows ?? []),
      { id: "workflow_bench", name: "Bench", steps: [{ type: "PARSE", name: "Parse" }] },
    ],
  };
  writeFileSync(path, JSON.stringify(seed));
  return path;
}

async function job(
  extra: string[],
  inputs: number,
  mode: "runs" | "batch",
  floor?: number,
): Promise<WorkerResult> {
  const { url, child } = await startEmulatorProcess([
    "--seed",
    seedFile(),
    "--concurrency",
    "8",
    ...extra,
  ]);
  try {
    const worker = fileURLToPath(new URL("./batch-worker.js", import.meta.url));
    const config = {
      url,
      token: TOKEN,
      workflowId: "workflow_bench",
      inputs,
      mode,
      concurrency: 8,
      ...(floor ? { floor } : {}),
    };
    const out = await new Promise<string>((resolve, reject) => {
      const proc = spawn(process.execPath, ["--expose-gc", worker, JSON.stringify(config)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let text = "";
      proc.stdout.on("data", (d) => {
        text += d;
      });
      proc.on("close", (code) =>
        code === 0 ? resolve(text) : reject(new Error(`worker exited ${code}`)),
      );
    });
    return JSON.parse(out) as WorkerResult;
  } finally {
    child.kill("SIGTERM");
  }
}

/**
 * Sustained submissions per second: between the moments 10% and 90% of the requests had
 * succeeded, leaving out the token bucket's initial burst and the last chunks' tail.
 */
function steadyRate(samples: Array<[number, number]>): number {
  const total = samples[samples.length - 1]?.[1] ?? 0;
  const at = (share: number) => samples.find(([, n]) => n >= total * share) ?? [0, 0];
  const [t0, n0] = at(0.1);
  const [t1, n1] = at(0.9);
  return ((n1 - n0) * 1000) / Math.max(1, t1 - t0);
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

export async function batchRunner(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [label, faults, target] of [
    ["no faults", [], 0.9],
    ["10% faults", ["--faults", FAULTS, "--fault-seed", "3"], 0.75],
  ] as const) {
    const result = await job(["--rate-limit", `run=${R}`, ...faults], RATE_INPUTS, "runs");
    const rate = steadyRate(result.samples);
    rows.push({
      benchmark: `batch submission rate, ${label}`,
      result: `${rate.toFixed(2)} req/s (${result.submitRequests} requests, ${result.retries} retries, ${result.outcomes} outcomes)`,
      against: `R = ${R} req/s: ×${(rate / R).toFixed(2)} (target ≥ ×${target})`,
      verdict: rate / R >= target && result.outcomes === RATE_INPUTS ? "meets" : "misses",
      method: `${RATE_INPUTS} raw texts in runs mode (50 per POST /workflow_runs), emulator in its own process with --rate-limit run=${R}${faults.length ? ` and --faults ${FAULTS} on every request` : ""}; the runner in a child process; rate = submission requests that created runs per second, between the moments 10% and 90% of them had succeeded (sampled every 100 ms)`,
    });
  }
  const peaks: number[] = [];
  for (const n of MEMORY_INPUTS) {
    const result = await job([], n, "batch");
    peaks.push(result.maxRssBytes);
    rows.push({
      benchmark: `batch peak RSS, ${n.toLocaleString("en")} raw texts`,
      result: `${mb(result.maxRssBytes)} (${result.outcomes} outcomes in ${(result.durationMs / 1000).toFixed(0)} s; ${mb(result.liveHeapBytes)} of heap live after a full GC at the end)`,
      against: `< 150 MB: ×${(result.maxRssBytes / (150 * 1024 * 1024)).toFixed(2)} of the limit`,
      verdict: result.maxRssBytes < 150 * 1024 * 1024 && result.outcomes === n ? "meets" : "misses",
      method: `runBatch in its own process over ${n} generated raw texts in batch mode (1,000 per request), default SQLite journal and a JSONL results file on disk, every outcome fetched and iterated; peak = process.resourceUsage().maxRSS`,
    });
  }
  const [small, large] = peaks as [number, number];
  const floor = await job([], 0, "batch", 100_000);
  rows.push({
    benchmark: "reference: fetch() alone, 100,000 GETs",
    result: mb(floor.maxRssBytes),
    against: `runner at 100,000 inputs: ×${(large / floor.maxRssBytes).toFixed(2)} of it`,
    verdict: "info",
    method:
      "a process doing nothing but fetch() GETs of one finished run, 8 at a time (the runner fetches each finished run the same way): the peak this Node 20 reaches for that traffic, before any work of ours",
  });
  rows.push({
    benchmark: "batch peak RSS, flatness",
    result: `${mb(large)} at 100,000 vs ${mb(small)} at 10,000`,
    against: `×${(large / small).toFixed(2)} for ×10 inputs (flat: ≤ ×1.25)`,
    verdict: large / small <= 1.25 ? "meets" : "misses",
    method: "ratio of the two peak RSS figures above",
  });
  return rows;
}
