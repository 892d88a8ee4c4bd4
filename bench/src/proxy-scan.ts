import { performance } from "node:perf_hooks";
import { createProxyHandler } from "@extendkit/core/handlers";
import type { Row } from "./types.js";

const TOKEN = "sk_bench_proxy_token_0123456789abcdef";
const ROUNDS = Number(process.env.BENCH_PROXY_ROUNDS ?? 20);
const SMALL_CALLS = 20_000;

/** An upstream answer of `size` bytes in 64 KiB chunks, as a socket delivers it. */
function answer(size: number): Response {
  const chunk = new Uint8Array(65_536).fill(0x61);
  let left = size;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (left <= 0) return controller.close();
        controller.enqueue(left >= chunk.length ? chunk : chunk.subarray(0, left));
        left -= chunk.length;
      },
    }),
    { headers: { "content-type": "application/json" } },
  );
}

async function drain(response: Response): Promise<number> {
  let bytes = 0;
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.length;
  return bytes;
}

/**
 * What the proxy's checks cost, in process (no sockets): the answer of an in-memory
 * upstream read through `createProxyHandler` (path resolution, query filter, the token
 * scan of every byte) against the same answer read as the upstream gave it.
 */
export async function proxyScan(): Promise<Row[]> {
  const size = 8 * 1024 * 1024;
  const proxy = createProxyHandler({ token: TOKEN, fetch: (async () => answer(size)) as never });
  const request = () => new Request("http://app.test/api/extend/files/file_1?rawText=true");
  let proxied = 0;
  let bare = 0;
  // Alternate, so drift hits both alike.
  for (let i = 0; i < ROUNDS; i++) {
    let started = performance.now();
    await drain(await proxy(request()));
    proxied += performance.now() - started;
    started = performance.now();
    await drain(answer(size));
    bare += performance.now() - started;
  }
  const mbps = (ms: number) => (ROUNDS * size) / 1024 / 1024 / (ms / 1000);

  const small = createProxyHandler({
    token: TOKEN,
    fetch: (async () => Response.json({ success: true, workflowRun: { id: "x" } })) as never,
  });
  const started = performance.now();
  for (let i = 0; i < SMALL_CALLS; i++)
    await (
      await small(new Request("http://app.test/api/extend/workflow_runs/workflow_run_1"))
    ).text();
  const perCall = ((performance.now() - started) * 1000) / SMALL_CALLS;

  return [
    {
      benchmark: "proxy: 8 MiB answer through the token scan",
      result: `${mbps(proxied).toFixed(0)} MiB/s`,
      against: `a 1 Gbit/s link: 119 MiB/s (×${(mbps(proxied) / 119.2).toFixed(2)}); read bare: ${mbps(bare).toFixed(0)} MiB/s`,
      verdict: "info",
      method: `${ROUNDS} rounds of an 8 MiB answer in 64 KiB chunks from an in-memory upstream, read through createProxyHandler, alternating with the same answer read directly; no sockets, so this is the proxy's own cost.`,
    },
    {
      benchmark: "proxy: one small call, in process",
      result: `${perCall.toFixed(1)} µs`,
      against: "no target",
      verdict: "info",
      method: `${SMALL_CALLS} sequential GET /workflow_runs/{id} calls through createProxyHandler to an in-memory upstream answering a small JSON body: resolution, authorization, headers, the whole-answer scan.`,
    },
  ];
}
