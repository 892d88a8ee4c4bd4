// Webhook receivers in child processes, for the multi-process tests of the shared dedupe
// stores (@extendkit/postgres, @extendkit/redis): each child prints "ready <port>" once it
// listens, and `deliver` sends it one signed delivery.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { signWebhook } from "@extendkit/core/webhooks";

/** A receiver running in its own process. */
export interface Receiver {
  url: string;
  pid: number;
  /** What it wrote to stderr so far (its onError reports), for failure messages. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Fails early, and clearly, when the package under test was not built (the children import
 * its dist/): pass `new URL("../dist/index.js", import.meta.url)` from the test.
 */
export function assertBuilt(entry: URL): void {
  const dist = fileURLToPath(entry);
  if (!existsSync(dist))
    throw new Error(
      `${dist} is missing: the child processes import the built package; build it first.`,
    );
}

/** Starts `node <script>` with `env` and waits for its "ready <port>" line. */
export function startReceiver(script: string, env: Record<string, string>): Promise<Receiver> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(script)], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${script} printed no "ready" line in 15 s.\n${stdout}${stderr}`));
    }, 15_000);
    const early = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready.\n${stderr}`));
    };
    child.once("exit", early);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const port = /^ready (\d+)$/m.exec(stdout)?.[1];
      if (!port) return;
      clearTimeout(timer);
      child.off("exit", early);
      resolve({
        url: `http://127.0.0.1:${port}`,
        pid: child.pid ?? 0,
        stderr: () => stderr,
        stop,
      });
    });
  });
}

/** POSTs one signed `workflow_run.completed` delivery of `eventId` to the receiver. */
export async function deliver(receiver: Receiver, eventId: string, secret: string) {
  const body = JSON.stringify({
    eventId,
    eventType: "workflow_run.completed",
    payload: { object: "workflow_run", id: `workflow_run_${eventId}`, status: "PROCESSED" },
  });
  const headers = await signWebhook({ body, secret });
  const response = await fetch(`${receiver.url}/webhooks/extend`, {
    method: "POST",
    body,
    headers,
  });
  return { status: response.status, body: (await response.json()) as { duplicate?: boolean } };
}
