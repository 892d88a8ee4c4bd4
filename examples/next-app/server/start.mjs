// @ts-check
// Starts the emulator and the built Next.js app beside it, and points the emulator's
// webhooks at the app's two receivers (Node and Edge runtime). `pnpm start` runs this.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startEmulator } from "@extendkit/emulator";

const root = fileURLToPath(new URL("..", import.meta.url));
const nextBin = createRequire(import.meta.url).resolve("next/dist/bin/next");

/** The paths of the app's webhook receivers, registered with the emulator. */
export const WEBHOOK_PATHS = ["/webhooks/extend", "/webhooks/extend/edge"];

/** @returns {Promise<number>} a free loopback port */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * @param {{ port?: number, output?: "inherit" | "capture", readyTimeoutMs?: number }} [options]
 *   `port` 0 picks a free one; `output` "capture" keeps the app's log for `logs()`;
 *   `readyTimeoutMs` (default 90 s) is how long to wait for the app to answer.
 */
export async function start(options = {}) {
  if (!existsSync(`${root}.next/BUILD_ID`))
    throw new Error(
      "The app is not built: run `npx -y pnpm@12.4.2 --filter @example/next-app... build` first.",
    );
  // Some latency per page, so the run page visibly moves from PROCESSING to PROCESSED.
  const emulator = await startEmulator({ port: 0, pageLatencyMs: 600 });
  /** @type {import("node:child_process").ChildProcess | undefined} */
  let app;
  let log = "";
  let exited = Promise.resolve();
  const stop = async () => {
    if (app && app.exitCode === null && app.signalCode === null) app.kill("SIGTERM");
    await exited;
    await emulator.close();
  };
  try {
    const port = options.port === 0 ? await freePort() : (options.port ?? 3000);
    const appUrl = `http://127.0.0.1:${port}`;
    const webhookSecret = `wss_example_${crypto.randomUUID().replaceAll("-", "")}`;
    const capture = options.output === "capture";
    const child = spawn(
      process.execPath,
      [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"],
      {
        cwd: root,
        env: {
          ...process.env,
          NEXT_TELEMETRY_DISABLED: "1",
          EXTEND_API_KEY: emulator.token,
          EXTEND_BASE_URL: emulator.url,
          EXTEND_WEBHOOK_SECRET: webhookSecret,
          EXTEND_WORKFLOW_ID: emulator.seed.workflowId,
        },
        stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit",
      },
    );
    app = child;
    child.stdout?.on("data", (chunk) => (log += chunk));
    child.stderr?.on("data", (chunk) => (log += chunk));
    exited = new Promise((resolve) => child.once("exit", () => resolve(undefined)));
    // If this process goes (a test runner giving up on us), the app goes with it.
    const orphan = () => child.kill("SIGTERM");
    process.once("exit", orphan);
    child.once("exit", () => process.off("exit", orphan));

    // Ready once this app answers on the port: its own webhook-status route, not just any
    // server (a port taken by something else makes `next start` exit instead).
    // A deadline in time, not attempts: each attempt may wait 2 s for an answer, and a caller
    // (a test's hook) must get this error, with the app's log, before its own timeout.
    const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`next start exited before it was ready on ${appUrl}:\n${log}`);
      if (Date.now() > deadline)
        throw new Error(`next start did not answer on ${appUrl} in time. Its output:\n${log}`);
      const answer = await fetch(`${appUrl}/api/runs/ready/webhook`, {
        signal: AbortSignal.timeout(2000),
      }).catch(() => undefined);
      const body = answer?.ok ? await answer.json().catch(() => undefined) : undefined;
      if (child.exitCode === null && Array.isArray(body?.events)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    for (const path of WEBHOOK_PATHS) {
      const registered = await fetch(`${emulator.url}/_emulator/webhook_endpoints`, {
        method: "POST",
        headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
        body: JSON.stringify({ url: `${appUrl}${path}`, secret: webhookSecret }),
      });
      if (!registered.ok) throw new Error(`Could not register ${path}: ${await registered.text()}`);
    }
    return { appUrl, emulator, webhookSecret, logs: () => log, close: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const running = await start({ port: Number(process.env.PORT ?? 3000) });
  console.log(
    `\nextendkit + Next.js: open ${running.appUrl} (emulator at ${running.emulator.url})`,
  );
  for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"]))
    process.once(signal, () => void running.close().then(() => process.exit(0)));
}
