import { fileURLToPath } from "node:url";
import { EdgeRuntime, runServer } from "edge-runtime";
import { rolldown } from "rolldown";
import type { NextProxyOptions, WebhookHandlerOptions } from "../src/index.js";

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

/** Serves the routes from inside an Edge VM on an ephemeral loopback port. */
export async function serveOnEdge(contract: EdgeContract): Promise<EdgeServer> {
  const runtime = new EdgeRuntime({
    initialCode: await edgeBundle(),
    extend: (context) => Object.assign(context, { contract }),
  });
  const server = await runServer({ runtime, port: 0, host: "127.0.0.1" });
  return {
    runtime,
    url: server.url.replace(/\/$/, ""),
    close: () => server.close(),
  };
}
