import type { ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@extendkit/core";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, FAULTS, results, scratch, serverRuns, setFaults } from "./helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0, concurrency: 8 });
});
afterAll(async () => {
  await emulator.close();
});

const env = () => ({ EXTEND_API_KEY: emulator.token });
const base = () => ["--base-url", emulator.url, "--poll-interval", "100", "--progress", "lines"];

describe("extendkit --help", () => {
  it("documents every option the command takes", async () => {
    const { finished } = cli(["batch", "run", "--help"]);
    const { code, stdout } = await finished;
    expect(code).toBe(0);
    const source = readFileSync(new URL("../src/cli.ts", import.meta.url), "utf8");
    const block = /const OPTIONS = \{([\s\S]*?)\} as const;/.exec(source)?.[1] ?? "";
    const names = [...block.matchAll(/^\s+"?([a-z-]+)"?: \{/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(stdout).toContain(`--${name}`);
    for (const word of ["EXTEND_API_KEY", "Exit status", "stdin"]) expect(stdout).toContain(word);
  });
});

describe("extendkit --version", () => {
  it("prints the package's version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    for (const args of [["--version"], ["batch", "run", "--version"]]) {
      const { code, stdout } = await cli(args).finished;
      expect(code).toBe(0);
      expect(stdout.trim()).toBe(pkg.version);
    }
  });
});

describe("extendkit batch run", () => {
  it("refuses a command line without a workflow, with exit status 2", async () => {
    const { code, stderr } = await cli(["batch", "run", "a.pdf"], { env: env() }).finished;
    expect(code).toBe(2);
    expect(stderr).toContain("--workflow is required");
  });

  it("says where the token goes when EXTEND_API_KEY is missing", async () => {
    const { code, stderr } = await cli(["batch", "run", "-w", "workflow_x", "a.pdf"], {
      env: { EXTEND_API_KEY: undefined },
    }).finished;
    expect(code).toBe(2);
    expect(stderr).toContain("EXTEND_API_KEY is not set");
  });

  it("reads inputs from stdin, and exits 1 naming the input that failed", async () => {
    const dir = scratch();
    const paths = Array.from({ length: 12 }, (_, i) => {
      const path = join(dir, `note-${i}.txt`);
      writeFileSync(path, `Invoice #S-${i}\nTotal: $${i + 5}.00\n`);
      return path;
    });
    const out = join(dir, "out.jsonl");
    const { code, stderr } = await cli(
      ["batch", "run", "-w", emulator.seed.workflowId, ...base(), "--out", out, "-"],
      { env: env(), stdin: `${[...paths, join(dir, "missing.pdf")].join("\n")}\n` },
    ).finished;
    expect(code).toBe(1);
    const lines = results(out);
    expect(lines).toHaveLength(13);
    expect(lines.filter((l) => l.status === "PROCESSED")).toHaveLength(12);
    expect(stderr).toMatch(/ERROR .*missing\.pdf: Cannot read/);
    expect(stderr).toContain("13 inputs: ERROR 1, PROCESSED 12");
  });

  it("takes `run` without the `batch` group, as `npx @extendkit/batch run` sends it", async () => {
    const dir = scratch();
    const path = join(dir, "solo.txt");
    writeFileSync(path, "Invoice #R-1\nTotal: $7.00\n");
    const out = join(dir, "out.jsonl");
    const { code, stderr } = await cli(
      ["run", "-w", emulator.seed.workflowId, ...base(), "--out", out, path],
      { env: env() },
    ).finished;
    expect(code).toBe(0);
    expect(results(out)).toMatchObject([{ input: path, status: "PROCESSED" }]);
    expect(stderr).toContain("1 inputs: PROCESSED 1");
    const unknown = await cli(["runn"], { env: env() }).finished;
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "runn"');
  });

  it("ends a directory among the inputs as ERROR for it, not a stopped job", async () => {
    const dir = scratch();
    const paths = Array.from({ length: 3 }, (_, i) => {
      const path = join(dir, `d-${i}.txt`);
      writeFileSync(path, `Invoice #D-${i}\nTotal: $${i + 5}.00\n`);
      return path;
    });
    const folder = join(dir, "folder.pdf");
    mkdirSync(folder);
    const out = join(dir, "out.jsonl");
    const { code, stderr } = await cli(
      ["batch", "run", "-w", emulator.seed.workflowId, ...base(), "--out", out, ...paths, folder],
      { env: env() },
    ).finished;
    expect(code).toBe(1);
    const lines = results(out);
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.input === folder)).toMatchObject({
      status: "ERROR",
      error: { message: `Cannot read ${folder}: not a file` },
    });
    expect(lines.filter((l) => l.status === "PROCESSED")).toHaveLength(3);
    expect(stderr).toContain("4 inputs: ERROR 1, PROCESSED 3");
  });

  it("after SIGKILL mid-batch, --resume ends with exactly one run per input", async () => {
    const dir = scratch();
    const N = 2000;
    for (let i = 0; i < N; i++)
      writeFileSync(
        join(dir, `inv-${String(i).padStart(4, "0")}.txt`),
        `Invoice #K-${i}\nTotal: $${(i % 50) + 3}.00\n`,
      );
    const workflowId = emulator.seed.reviewWorkflowId;
    await setFaults(emulator, 11, FAULTS);
    const out = join(dir, "results.jsonl");
    const args = [
      "batch",
      "run",
      "-w",
      workflowId,
      ...base(),
      "--mode",
      "runs",
      // Short, so the resume waits out the killed process's requests quickly.
      "--timeout",
      "2000",
      "--reconcile-delay",
      "200",
      "--duplicate-watch",
      "1000",
      "--out",
      out,
      join(dir, "inv-*.txt"),
    ];
    const first = cli(args, { env: env() });
    // Kill once a good part of the job has runs, so the journal holds submitted, pending and
    // unsent inputs at the moment the process dies.
    await waitFor(first.child, async () => (await countRuns(workflowId)) >= 600).catch(
      async (error: Error) => {
        const ended = await first.finished;
        throw new Error(`${error.message} (exit ${ended.code}):\n${ended.stderr.slice(-3000)}`);
      },
    );
    first.child.kill("SIGKILL");
    const killed = await first.finished;
    expect(killed.signal).toBe("SIGKILL");
    const before = await countRuns(workflowId);
    expect(before).toBeLessThan(N);

    await setFaults(emulator, 12, FAULTS);
    const second = await cli([...args, "--resume"], { env: env() }).finished;
    expect(second.stderr).toContain(`${N} inputs:`);
    // The review workflow leaves every run waiting for a person: a final state for the batch.
    expect(second.code).toBe(0);
    const runs = await serverRuns(emulator, workflowId);
    expect(runs).toHaveLength(N);
    const lines = results(out);
    expect(lines).toHaveLength(N);
    expect(new Set(lines.map((l) => l.key)).size).toBe(N);
    expect(new Set(lines.map((l) => l.runId))).toEqual(new Set(runs.map((r) => r.id)));
    expect(lines.some((l) => l.fromJournal)).toBe(true);
  });
});

describe("extendkit batch run against a rate-limited API", () => {
  let limited: Emulator;
  beforeAll(async () => {
    // Reads and submissions limited, and a third of the submissions refused with
    // Retry-After: 2 besides: real waits, with the reads and the submissions paused at once.
    limited = await startEmulator({ port: 0, concurrency: 8, rateLimit: { get: 50, run: 2 } });
    await setFaults(limited, 21, [
      { type: "rate-limit", retryAfter: 2, probability: 0.3, operations: ["runWorkflow"] },
    ]);
  });
  afterAll(async () => {
    await limited.close();
  });

  it("finishes 1,000 inputs behind 429s with Retry-After 2: exit 0 and 1,000 lines", async () => {
    const dir = scratch();
    const N = 1000;
    for (let i = 0; i < N; i++)
      writeFileSync(join(dir, `r-${String(i).padStart(4, "0")}.txt`), `Invoice #R-${i}\n`);
    const out = join(dir, "results.jsonl");
    const { code, stderr } = await cli(
      [
        "batch",
        "run",
        "-w",
        limited.seed.workflowId,
        "--base-url",
        limited.url,
        "--poll-interval",
        "200",
        "--progress",
        "none",
        "--mode",
        "runs",
        "--out",
        out,
        join(dir, "r-*.txt"),
      ],
      { env: { EXTEND_API_KEY: limited.token } },
    ).finished;
    expect(stderr).toContain(`${N} inputs: PROCESSED ${N}`);
    expect(code).toBe(0);
    const lines = results(out);
    expect(lines).toHaveLength(N);
    expect(new Set(lines.map((l) => l.key)).size).toBe(N);
    expect(await serverRuns(limited, limited.seed.workflowId)).toHaveLength(N);
  });
});

describe("extendkit batch run killed during its first submissions", () => {
  it("resumed at once, three times over, 500 inputs end with one run each", async () => {
    const dir = scratch();
    const N = 500;
    for (let i = 0; i < N; i++)
      writeFileSync(join(dir, `k-${String(i).padStart(3, "0")}.txt`), `Invoice #F-${i}\n`);
    // A workflow of its own, so the runs counted are this test's.
    const created = await createClient({
      token: emulator.token,
      baseUrl: emulator.url,
      throwOnError: true,
    }).POST("/workflows", { body: { name: "Killed during its first submissions" } });
    const workflowId = created.data.workflow.id;
    const out = join(dir, "results.jsonl");
    const args = [
      "batch",
      "run",
      "-w",
      workflowId,
      ...base(),
      "--mode",
      "runs",
      "--timeout",
      "3000",
      "--reconcile-delay",
      "300",
      "--duplicate-watch",
      "2000",
      "--out",
      out,
      join(dir, "k-*.txt"),
    ];
    // Every submission is applied a second and a half after it arrives, whether or not the
    // client is still there: a process killed while it waits leaves it to land afterwards.
    // The latency rule is a counter of submissions that arrived.
    const MARK = 100_000;
    await setFaults(emulator, 31, [
      { type: "slow-apply", ms: 1500, operations: ["runWorkflow"] },
      { type: "latency", ms: 0, count: MARK, operations: ["runWorkflow"] },
    ]);
    const arrived = async () => {
      const response = await fetch(`${emulator.url}/_emulator/faults`, {
        headers: { authorization: `Bearer ${emulator.token}` },
      });
      const { rules } = (await response.json()) as { rules: Array<{ count?: number }> };
      return MARK - (rules.find((r) => r.count !== undefined)?.count ?? MARK);
    };
    for (let round = 0; round < 3; round++) {
      const before = await arrived();
      const run = cli(round === 0 ? args : [...args, "--resume"], { env: env() });
      // Killed as soon as its first submission reaches the server.
      await waitFor(run.child, async () => (await arrived()) > before);
      run.child.kill("SIGKILL");
      expect((await run.finished).signal).toBe("SIGKILL");
    }
    const last = await cli([...args, "--resume"], { env: env() }).finished;
    expect(last.stderr).toContain(`${N} inputs: PROCESSED ${N}`);
    expect(last.code).toBe(0);
    await setFaults(emulator, 31, []);
    const runs = await serverRuns(emulator, workflowId);
    expect(runs).toHaveLength(N);
    const lines = results(out);
    expect(lines).toHaveLength(N);
    expect(new Set(lines.map((l) => l.runId))).toEqual(new Set(runs.map((r) => r.id)));
  });
});

async function countRuns(workflowId: string): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const url = new URL(`${emulator.url}/workflow_runs`);
    url.searchParams.set("workflowId", workflowId);
    url.searchParams.set("maxPageSize", "1000");
    if (token) url.searchParams.set("nextPageToken", token);
    // Straight to the server with a header that skips fault injection is not available, so
    // read through faults: a failed read is simply asked again.
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${emulator.token}`, "x-extend-api-version": "2025-04-21" },
    }).catch(() => undefined);
    if (!response?.ok) continue;
    const page = (await response.json()) as { workflowRuns: unknown[]; nextPageToken?: string };
    n += page.workflowRuns.length;
    token = page.nextPageToken;
  } while (token);
  return n;
}

async function waitFor(child: ChildProcess, test: () => Promise<boolean>) {
  for (;;) {
    if (child.exitCode !== null) throw new Error("the CLI ended before it could be killed");
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
