/**
 * The CLI on "several machines": three `extendkit batch run` processes join one job through
 * PostgreSQL, against one emulator with a rate limit and faults. One is SIGKILLed mid-job,
 * one is SIGSTOPped for longer than its lease and then resumed. Every input must get
 * exactly one run on the server and one result line, and no input may be processed by two
 * runners. `MANY_MACHINES_INPUTS` sets the size (the closing figures used 3,000).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { assertBuilt } from "@extendkit/adapter-contract/processes";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { jobStatus } from "../src/batch/index.js";
import { migrate } from "../src/index.js";
import {
  newPool,
  POSTGRES_URL,
  parseOnlyWorkflow,
  postgresAvailable,
  uniqueSchema,
} from "./postgres.js";

const INPUTS = Number(process.env.MANY_MACHINES_INPUTS ?? 240);
const LEASE_MS = 4000;
const available = await postgresAvailable();
const cli = fileURLToPath(new URL("../../batch/dist/cli.js", import.meta.url));
const packageDir = fileURLToPath(new URL("..", import.meta.url));

interface Runner {
  child: ChildProcess;
  out: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe.skipIf(!available)("three CLI runners on one job, one killed, one paused", () => {
  let emulator: Emulator;
  let pool: pg.Pool;
  let workflowId: string;
  let dir: string;
  // The CLI migrates and uses the default schema; the job name keeps runs of this file apart.
  const job = `many-${uniqueSchema("job")}`;
  const schema = "extendkit";
  const runners: Runner[] = [];

  beforeAll(async () => {
    assertBuilt(new URL("../dist/index.js", import.meta.url));
    pool = newPool(4);
    await migrate(pool, { schema });
    emulator = await startEmulator({
      port: 0,
      db: ":memory:",
      pageLatencyMs: 0,
      rateLimit: { run: 10 },
      faults: {
        seed: 17,
        rules: [
          { type: "status", status: 500, probability: 0.05 },
          { type: "rate-limit", retryAfter: 1, probability: 0.03 },
          { type: "reset", probability: 0.03 },
          { type: "lost-response", probability: 0.04 },
        ],
      },
    });
    workflowId = await parseOnlyWorkflow(emulator);
    dir = mkdtempSync(path.join(tmpdir(), "extendkit-many-"));
    for (let i = 0; i < INPUTS; i++)
      writeFileSync(
        path.join(dir, `invoice-${String(i).padStart(5, "0")}.txt`),
        `Invoice #${i}\nTotal: $${i}.00\n`,
      );
  }, 60_000);

  afterAll(async () => {
    for (const r of runners) if (r.child.exitCode === null) r.child.kill("SIGKILL");
    await emulator?.close();
    await pool?.query(`DELETE FROM ${schema}.batch_jobs WHERE name = $1`, [job]).catch(() => {});
    await pool?.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function start(n: number): Runner {
    const out = path.join(dir, `runner-${n}.jsonl`);
    const child = spawn(
      process.execPath,
      [
        cli,
        "batch",
        "run",
        "--workflow",
        workflowId,
        "--journal",
        POSTGRES_URL,
        "--job",
        job,
        "--rate",
        "8",
        "--lease",
        String(LEASE_MS),
        "--mode",
        "runs",
        "--out",
        out,
        "--progress",
        "none",
        "--poll-interval",
        "100",
        "--reconcile-delay",
        "200",
        "--duplicate-watch",
        "1000",
        "--timeout",
        "3000",
        path.join(dir, "*.txt"),
      ],
      {
        cwd: packageDir,
        env: { ...process.env, EXTEND_API_KEY: emulator.token, EXTEND_BASE_URL: emulator.url },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    const runner = { child, out, stderr: () => stderr, exited };
    runners.push(runner);
    return runner;
  }

  /** Waits until the job has at least `finished` outcomes (a generous bound, a safety net). */
  async function finishedAtLeast(finished: number) {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const status = await jobStatus(pool, job, schema);
      if (status && status.finished >= finished) return status;
      if (Date.now() > deadline) throw new Error(`the job did not reach ${finished} outcomes`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test(`${INPUTS} inputs: one run per input on the server, one result line each, no input on two runners`, async () => {
    const [killed, paused, survivor] = [start(1), start(2), start(3)];
    await finishedAtLeast(Math.floor(INPUTS * 0.2));
    killed.child.kill("SIGKILL");
    paused.child.kill("SIGSTOP");
    // Paused for three leases: the other runner takes over what it holds.
    await new Promise((r) => setTimeout(r, LEASE_MS * 3));
    paused.child.kill("SIGCONT");

    const survived = await survivor.exited;
    expect(survived.code, survivor.stderr()).toBe(0);
    const woke = await paused.exited;
    // It either had nothing left to write, or its first write after the pause was refused.
    expect([0, 3], paused.stderr()).toContain(woke.code);
    if (woke.code === 3) expect(paused.stderr()).toMatch(/lost its lease/);
    expect((await killed.exited).signal).toBe("SIGKILL");

    // One result line per input, from any machine.
    const results = path.join(dir, "results.jsonl");
    const report = spawn(
      process.execPath,
      [cli, "batch", "results", "--journal", POSTGRES_URL, "--job", job, "--out", results],
      { cwd: packageDir, stdio: "ignore" },
    );
    expect(await new Promise((r) => report.once("exit", r))).toBe(0);
    const lines = readFileSync(results, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(INPUTS);
    expect(new Set(lines.map((l) => l.key)).size).toBe(INPUTS);
    expect(lines.every((l) => l.status === "PROCESSED" || l.status === "NEEDS_REVIEW")).toBe(true);

    // No input went through two runners: each key is in at most one runner's own results.
    const byRunner = runners.map((r) => {
      try {
        return readFileSync(r.out, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l).key as string);
      } catch {
        return [];
      }
    });
    const all = byRunner.flat();
    expect(new Set(all).size).toBe(all.length);

    // The server has exactly one run per input (read without the faults).
    await fetch(`${emulator.url}/_emulator/faults`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${emulator.token}` },
    });
    const runKeys = await serverRunKeys();
    expect(runKeys.length).toBe(INPUTS);
    expect(new Set(runKeys).size).toBe(INPUTS);
    const status = await jobStatus(pool, job, schema);
    expect(status?.finished).toBe(INPUTS);
    expect(status?.runners.find((r) => r.pid === killed.child.pid)?.state).toBe("dead");
  }, 300_000);

  /** The input key of every run on the server (runs mode: from the input's file name). */
  async function serverRunKeys(): Promise<string[]> {
    const headers = {
      authorization: `Bearer ${emulator.token}`,
      "x-extend-api-version": "2025-04-21",
    };
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const url = new URL(`${emulator.url}/workflow_runs`);
      url.searchParams.set("maxPageSize", "1000");
      if (token) url.searchParams.set("nextPageToken", token);
      const page = await (await fetch(url, { headers })).json();
      for (const summary of page.workflowRuns) {
        const { workflowRun } = await (
          await fetch(`${emulator.url}/workflow_runs/${summary.id}`, { headers })
        ).json();
        keys.push(workflowRun.files?.[0]?.name ?? workflowRun.id);
      }
      token = page.nextPageToken;
    } while (token);
    return keys;
  }
});
