import { fileURLToPath } from "node:url";
import { EdgeRuntime } from "edge-runtime";
import { rolldown } from "rolldown";
import type { NextProxyOptions, WebhookHandlerOptions } from "../src/index.js";
import { serveRequests } from "./node-server.js";

let bundled: Promise<string> | undefined;

/**
 * The package (with `@extendkit/core`) and the test router as one browser-platform script. Any Node built-in
 * left in the package would fail here (unresolved in an IIFE) or in the VM, which has no
 * `require`, `process` or `Buffer`.
 */
export function edgeBundle(): Promise<string> {
  bundled ??= (async () => {
    const problems: string[] = [];
    const bundle = await rolldown({
      input: fileURLToPath(new URL("./edge-entry.ts", import.meta.url)),
      platform: "browser",
      onLog: (level, log) => {
        if (level === "warn") problems.push(log.message);
      },
    });
    const { output } = await bundle.generate({ format: "iife" });
    await bundle.close();
    if (problems.length) throw new Error(`The Edge bundle has problems:\n${problems.join("\n")}`);
    return output[0].code;
  })();
  return bundled;
}

export type EdgeContract =
  | { kind: "webhook"; options: WebhookHandlerOptions }
  | { kind: "proxy"; options: NextProxyOptions };

/** A server whose routes run inside an Edge VM. */
export interface EdgeServer {
  runtime: EdgeRuntime;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the routes from inside an Edge VM on an ephemeral loopback port, as `next start`
 * serves an Edge route: each request becomes a `Request` of the VM's realm whose signal
 * aborts when the caller disconnects, and a response body that fails part-way cuts the
 * connection. (edge-runtime's own `runServer` does neither, and fails on a malformed Host.)
 */
export async function serveOnEdge(contract: EdgeContract): Promise<EdgeServer> {
  const runtime = new EdgeRuntime({
    initialCode: await edgeBundle(),
    extend: (context) => Object.assign(context, { contract }),
  });
  const VmAbortController = runtime.evaluate("AbortController") as typeof AbortController;
  const VmReadableStream = runtime.evaluate("ReadableStream") as typeof ReadableStream;
  const VmUint8Array = runtime.evaluate("Uint8Array") as typeof Uint8Array;
  const server = await serveRequests(async (req, origin, signal) => {
    const aborted = new VmAbortController();
    signal.addEventListener("abort", () => aborted.abort(), { once: true });
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const chunks = req[Symbol.asyncIterator]();
    const body = hasBody
      ? new VmReadableStream<Uint8Array>({
          async pull(controller) {
            const next = await chunks.next();
            if (next.done) controller.close();
            else controller.enqueue(new VmUint8Array(next.value as Buffer));
          },
        })
      : undefined;
    const headers: [string, string][] = [];
    for (const [name, values] of Object.entries(req.headersDistinct))
      for (const value of values ?? []) headers.push([name, value]);
    return runtime.dispatchFetch(new URL(req.url ?? "/", origin).href, {
      method: req.method,
      headers,
      body,
      signal: aborted.signal,
      duplex: "half",
    } as RequestInit);
  });
  return { runtime, url: server.url, close: server.close };
}
