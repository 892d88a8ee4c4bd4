import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, paginate, type WorkflowRunSummary } from "@extendkit/core";
import type { Emulator, FaultRule } from "@extendkit/emulator";
import type { BatchOutcome } from "../src/index.js";

/** The built CLI: the tests run what users run (build the package first). */
const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI with `args`; `finished` resolves with its exit and output. */
export function cli(
  args: string[],
  options: { env?: Record<string, string | undefined>; stdin?: string; cwd?: string } = {},
) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, EXTEND_BASE_URL: undefined, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  if (options.stdin !== undefined) child.stdin.end(options.stdin);
  else child.stdin.end();
  const finished = new Promise<Finished>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, finished };
}

/** The outcomes of a results file, one per line. */
export function results(path: string): BatchOutcome[] {
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as BatchOutcome);
}

/** A fresh temporary directory. */
export function scratch(): string {
  return mkdtempSync(join(tmpdir(), "extendkit-batch-"));
}

/**
 * About one request in five fails, in every way the issue names: 500 and 503 answers, 429s,
 * connection resets, and responses lost after the work was committed.
 */
export const FAULTS: FaultRule[] = [
  { type: "status", status: 500, probability: 0.05 },
  { type: "status", status: 503, probability: 0.05 },
  { type: "rate-limit", retryAfter: 0, probability: 0.04 },
  { type: "reset", probability: 0.03 },
  { type: "lost-response", probability: 0.05 },
];

async function admin(emulator: Emulator, method: string, path: string, body?: unknown) {
  const response = await fetch(`${emulator.url}/_emulator${path}`, {
    method,
    headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok)
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
}

export function setFaults(emulator: Emulator, seed: number, rules: FaultRule[]) {
  return admin(emulator, "PUT", "/faults", { seed, rules });
}

export function clearFaults(emulator: Emulator) {
  return admin(emulator, "DELETE", "/faults");
}

/** Every run of a workflow on the server, read with faults off. */
export async function serverRuns(emulator: Emulator, workflowId: string) {
  await clearFaults(emulator);
  const client = createClient({ token: emulator.token, baseUrl: emulator.url, throwOnError: true });
  const runs: WorkflowRunSummary[] = [];
  for await (const run of paginate(client, "/workflow_runs", {
    query: { workflowId, maxPageSize: 1000 },
  }))
    runs.push(run);
  return runs;
}

/** A seeded generator for jitter in tests: the emulator's own. */
export { seededRandom as seeded } from "@extendkit/emulator";
