import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, paginate, type WorkflowRunSummary } from "@extendkit/core";
import type { Emulator, FaultRule } from "@extendkit/emulator";

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
