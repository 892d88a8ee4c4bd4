// The CLI's journal is one file once the CLI has ended: SQLite's -wal and -shm files sit
// beside it only while a job runs (or after a crash), so a user who moves or copies the
// .journal file of a finished or stopped job takes the whole job with it.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, results, scratch, setFaults } from "./helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0, concurrency: 8 });
});
afterAll(async () => {
  await emulator.close();
});

/** A job's folder: its inputs in `in/`, and only the results and journal in `out/`. */
function job(count: number) {
  const dir = scratch();
  mkdirSync(join(dir, "in"));
  mkdirSync(join(dir, "out"));
  const inputs = Array.from({ length: count }, (_, i) => {
    const path = join(dir, "in", `j-${String(i).padStart(3, "0")}.txt`);
    writeFileSync(path, `Invoice #J-${i}\nTotal: $${i + 5}.00\n`);
    return path;
  });
  const out = join(dir, "out", "results.jsonl");
  const args = (...more: string[]) => [
    "batch",
    "run",
    "-w",
    emulator.seed.workflowId,
    "--base-url",
    emulator.url,
    "--poll-interval",
    "100",
    "--progress",
    "none",
    "--mode",
    "runs",
    // Short, so a resume after SIGTERM waits out the stopped process's requests quickly.
    "--timeout",
    "2000",
    "--reconcile-delay",
    "200",
    "--duplicate-watch",
    "1000",
    "--out",
    out,
    ...more,
  ];
  const files = () => readdirSync(join(dir, "out")).sort();
  return { dir, inputs, out, args, files };
}

const env = () => ({ EXTEND_API_KEY: emulator.token });
const ONE_FILE = ["results.jsonl", "results.jsonl.journal"];

describe("the CLI's journal files", () => {
  it("is one file after a run with a failed input, and after a refused second run", async () => {
    const { dir, inputs, args, files } = job(3);
    const missing = join(dir, "in", "missing.pdf");
    const first = await cli(args(...inputs, missing), { env: env() }).finished;
    expect(first.stderr).toContain("4 inputs: ERROR 1, PROCESSED 3");
    expect(first.code).toBe(1);
    expect(files()).toEqual(ONE_FILE);

    // Refused once the journal is open (it holds a job and --resume is missing): exit 2.
    const second = await cli(args(...inputs, missing), { env: env() }).finished;
    expect(second.code).toBe(2);
    expect(second.stderr).toContain("already holds 4 inputs");
    expect(files()).toEqual(ONE_FILE);
  });

  it("is one file after SIGTERM mid-run, and --resume finishes the job from it", async () => {
    const { inputs, out, args, files } = job(20);
    // Submissions answer after 3 s, so the job is stopped with one in flight. The rule's
    // count is a counter of the submissions that arrived.
    const MARK = 100_000;
    await setFaults(emulator, 41, [
      { type: "latency", ms: 3000, count: MARK, operations: ["runWorkflow"] },
    ]);
    try {
      const run = cli(args(...inputs), { env: env() });
      await until(async () => (await submissionsArrived(MARK)) > 0);
      // While the job runs, the journal is three files.
      const journal = join(out, "..", "results.jsonl.journal");
      expect(existsSync(`${journal}-wal`)).toBe(true);
      expect(existsSync(`${journal}-shm`)).toBe(true);
      run.child.kill("SIGTERM");
      const stopped = await run.finished;
      expect(stopped.stderr).toContain("SIGTERM: stopping");
      expect(stopped.code).toBe(3);
      expect(files().filter((f) => f !== "results.jsonl")).toEqual(["results.jsonl.journal"]);
    } finally {
      await setFaults(emulator, 41, []);
    }

    const resumed = await cli(args(...inputs, "--resume"), { env: env() }).finished;
    expect(resumed.stderr).toContain("20 inputs: PROCESSED 20");
    // The stopped submission was looked up on the server before anything was sent again.
    expect(resumed.stderr).not.toContain(" 0 ambiguous submissions checked");
    expect(resumed.code).toBe(0);
    expect(new Set(results(out).map((l) => l.input))).toEqual(new Set(inputs));
    expect(files()).toEqual(ONE_FILE);
  });
});

/** How many submissions reached the emulator since the counting rule was set with `mark`. */
async function submissionsArrived(mark: number): Promise<number> {
  const response = await fetch(`${emulator.url}/_emulator/faults`, {
    headers: { authorization: `Bearer ${emulator.token}` },
  });
  const { rules } = (await response.json()) as { rules: Array<{ count?: number }> };
  return mark - (rules.find((r) => r.count !== undefined)?.count ?? mark);
}

async function until(test: () => Promise<boolean>, timeoutMs = 20_000) {
  for (const deadline = Date.now() + timeoutMs; !(await test()); ) {
    if (Date.now() > deadline) throw new Error(`not true after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
