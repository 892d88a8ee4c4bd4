import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient, type paths } from "@extendkit/core";
import { ExtendClient } from "extend-ai";
import createFetchClient from "openapi-fetch";
import type { Row } from "./types.js";

const SLICE = 500;
const SLICES = Number(process.env.BENCH_SLICES ?? 60);
const CONCURRENCY = 16;
const TOKEN = "sk_bench";
const RUN_ID = "workflow_run_bench000000000000";

/** Sends `total` requests, `concurrency` at a time, and answers the milliseconds taken. */
async function elapsed(call: () => Promise<unknown>, total: number) {
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
  return performance.now() - started;
}

/**
 * Client overhead per request against a loopback server that answers at once: raw
 * `fetch`, `@extendkit/core` and the vendor's `extend-ai@0.0.12`, each parsing the same
 * workflow run, taking turns in short slices so drift hits them alike.
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
    // The same client with no timeouts, so no abort signal on each request: shows that cost.
    const untimed = createClient({
      token: TOKEN,
      baseUrl,
      timeoutMs: Number.POSITIVE_INFINITY,
      totalTimeoutMs: Number.POSITIVE_INFINITY,
    });
    const bare = createFetchClient<paths>({ baseUrl, headers });
    const params = { params: { path: { workflowRunId: RUN_ID } } };
    const vendor = new ExtendClient({ token: TOKEN, baseUrl });
    const clients: Array<[string, () => Promise<unknown>]> = [
      [
        "raw fetch",
        async () => (await fetch(`${baseUrl}/workflow_runs/${RUN_ID}`, { headers })).json(),
      ],
      ["openapi-fetch alone", () => bare.GET("/workflow_runs/{workflowRunId}", params)],
      ["@extendkit/core", () => core.GET("/workflow_runs/{workflowRunId}", params)],
      ["core, timeouts off", () => untimed.GET("/workflow_runs/{workflowRunId}", params)],
      ["extend-ai@0.0.12", () => vendor.workflowRun.get(RUN_ID)],
    ];
    // Check each client reads the run, then warm them up.
    const { data } = await core.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: RUN_ID } },
    });
    const vendorRun = (await vendor.workflowRun.get(RUN_ID)) as { workflowRun?: { id?: string } };
    if (data?.workflowRun.id !== RUN_ID || vendorRun.workflowRun?.id !== RUN_ID)
      throw new Error("a client did not read the run");
    for (const [, call] of clients) await elapsed(call, 2000);

    // Many short slices, the clients taking turns: a slow second of the machine lands on
    // all three alike instead of on whichever client happened to run then.
    const spent = new Map<string, number>(clients.map(([name]) => [name, 0]));
    for (let slice = 0; slice < SLICES; slice++) {
      for (const [name, call] of clients)
        spent.set(name, (spent.get(name) ?? 0) + (await elapsed(call, SLICE)));
    }
    const rate = (name: string) => (SLICE * SLICES) / ((spent.get(name) ?? 0) / 1000);
    const raw = rate("raw fetch");
    const ours = rate("@extendkit/core");
    const theirs = rate("extend-ai@0.0.12");
    const method = `GET /workflow_runs/{id} against a loopback server in its own process, ${CONCURRENCY} in flight, ${SLICES} turns of ${SLICE} requests per client, interleaved`;
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
        benchmark: "client: openapi-fetch alone",
        result: `${Math.round(rate("openapi-fetch alone"))} req/s`,
        against: `×${(rate("openapi-fetch alone") / raw).toFixed(2)} of raw fetch (no retries, timeouts or typed errors)`,
        verdict: "info",
        method,
      },
      {
        benchmark: "client: core, timeouts off",
        result: `${Math.round(rate("core, timeouts off"))} req/s`,
        against: `×${(rate("core, timeouts off") / raw).toFixed(2)} of raw fetch (timeoutMs: Infinity, so no abort signal per request)`,
        verdict: "info",
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
