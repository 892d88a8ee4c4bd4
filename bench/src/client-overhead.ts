import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient } from "@extendkit/core";
import { ExtendClient } from "extend-ai";
import type { Row } from "./types.js";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const CONCURRENCY = 16;
const ROUNDS = 3;
const TOKEN = "sk_bench";
const RUN_ID = "workflow_run_bench000000000000";

/** Sends `total` requests, `concurrency` at a time, and answers requests per second. */
async function throughput(call: () => Promise<unknown>, total: number) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        next += 1;
        await call();
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/**
 * Client overhead per request against a loopback server that answers at once: raw
 * `fetch`, `@extendkit/core` and the vendor's `extend-ai@0.0.12`, each parsing the same
 * workflow run. Rounds alternate the clients so drift hits them alike; the median counts.
 */
export async function clientOverhead(): Promise<Row[]> {
  const server = spawn(
    process.execPath,
    [fileURLToPath(new URL("../src/loopback-server.mjs", import.meta.url))],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout?.once("data", (chunk: Buffer) =>
        resolve((JSON.parse(chunk.toString()) as { port: number }).port),
      );
      server.once("exit", (code) => reject(new Error(`loopback server exited with ${code}`)));
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${TOKEN}`, "x-extend-api-version": "2025-04-21" };
    const core = createClient({ token: TOKEN, baseUrl });
    const vendor = new ExtendClient({ token: TOKEN, baseUrl });
    const clients: Array<[string, () => Promise<unknown>]> = [
      [
        "raw fetch",
        async () => (await fetch(`${baseUrl}/workflow_runs/${RUN_ID}`, { headers })).json(),
      ],
      [
        "@extendkit/core",
        () =>
          core.GET("/workflow_runs/{workflowRunId}", {
            params: { path: { workflowRunId: RUN_ID } },
          }),
      ],
      ["extend-ai@0.0.12", () => vendor.workflowRun.get(RUN_ID)],
    ];
    // Check each client reads the run, then warm them up.
    const { data } = await core.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: RUN_ID } },
    });
    const vendorRun = (await vendor.workflowRun.get(RUN_ID)) as { workflowRun?: { id?: string } };
    if (data?.workflowRun.id !== RUN_ID || vendorRun.workflowRun?.id !== RUN_ID)
      throw new Error("a client did not read the run");
    for (const [, call] of clients) await throughput(call, 2000);

    const results = new Map<string, number[]>(clients.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, call] of clients) {
        (globalThis as { gc?: () => void }).gc?.();
        results.get(name)?.push(await throughput(call, REQUESTS));
      }
    }
    const raw = median(results.get("raw fetch") ?? []);
    const ours = median(results.get("@extendkit/core") ?? []);
    const theirs = median(results.get("extend-ai@0.0.12") ?? []);
    const method = `GET /workflow_runs/{id} against a loopback server in its own process, ${CONCURRENCY} in flight, ${REQUESTS} requests per round, median of ${ROUNDS} alternating rounds`;
    return [
      {
        benchmark: "client: raw fetch",
        result: `${Math.round(raw)} req/s`,
        against: "baseline",
        verdict: "info",
        method,
      },
      {
        benchmark: "client: @extendkit/core",
        result: `${Math.round(ours)} req/s`,
        against: `×${(ours / raw).toFixed(2)} of raw fetch (target ≥ 0.85); ×${(ours / theirs).toFixed(2)} of extend-ai (target ≥ 1.5)`,
        verdict: ours / raw >= 0.85 && ours / theirs >= 1.5 ? "meets" : "misses",
        method,
      },
      {
        benchmark: "client: extend-ai@0.0.12",
        result: `${Math.round(theirs)} req/s`,
        against: `×${(theirs / raw).toFixed(2)} of raw fetch`,
        verdict: "info",
        method,
      },
    ];
  } finally {
    server.kill("SIGTERM");
  }
}
