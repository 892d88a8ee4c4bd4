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
 * @param {{ port?: number, output?: "inherit" | "capture" }} [options]
 *   `port` 0 picks a free one; `output` "capture" keeps the app's log for `logs()`.
 */
export async function start(options = {}) {
  if (!existsSync(`${root}.next/BUILD_ID`))
    throw new Error(
      "The app is not built: run `npx -y pnpm@12.4.2 --filter @example/next-app... build` first.",
    );
  // A little latency per page, so the run page visibly moves from PROCESSING to PROCESSED.
  const emulator = await startEmulator({ port: 0, pageLatencyMs: 300 });
  const port = options.port === 0 ? await freePort() : (options.port ?? 3000);
  const appUrl = `http://127.0.0.1:${port}`;
  const webhookSecret = `wss_example_${crypto.randomUUID().replaceAll("-", "")}`;
  for (const path of WEBHOOK_PATHS) {
    const registered = await fetch(`${emulator.url}/_emulator/webhook_endpoints`, {
      method: "POST",
      headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
      body: JSON.stringify({ url: `${appUrl}${path}`, secret: webhookSecret }),
    });
    if (!registered.ok) throw new Error(`Could not register ${path}: ${await registered.text()}`);
  }

  const capture = options.output === "capture";
  let log = "";
  const app = spawn(process.execPath, [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"], {
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
  });
  app.stdout?.on("data", (chunk) => (log += chunk));
  app.stderr?.on("data", (chunk) => (log += chunk));
  const exited = new Promise((resolve) => app.once("exit", resolve));

  const stop = async () => {
    if (app.exitCode === null && app.signalCode === null) app.kill("SIGTERM");
    await exited;
    await emulator.close();
  };
  // Ready once the home page answers; give up if `next start` exits first.
  for (let attempt = 0; ; attempt++) {
    if (app.exitCode !== null || app.signalCode !== null || attempt > 600) {
      await stop();
      throw new Error(`next start did not come up on ${appUrl}:\n${log}`);
    }
    const answer = await fetch(appUrl).catch(() => undefined);
    if (answer?.ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { appUrl, emulator, webhookSecret, logs: () => log, close: stop };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const running = await start({ port: Number(process.env.PORT ?? 3000) });
  console.log(
    `\nextendkit + Next.js: open ${running.appUrl} (emulator at ${running.emulator.url})`,
  );
  for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"]))
    process.once(signal, () => void running.close().then(() => process.exit(0)));
}
