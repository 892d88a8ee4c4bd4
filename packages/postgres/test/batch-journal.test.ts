/**
 * The shared batch journal and rate gate against a real PostgreSQL and a real emulator:
 * runners in one process here (each with its own pool and lease), the CLI on several
 * processes in many-machines.test.ts.
 */
import {
  type BatchOutcome,
  KEY_FIELD,
  LeaseLostError,
  prepareInput,
  runBatch,
} from "@extendkit/batch";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  createPostgresJournal,
  createPostgresRateGate,
  jobOutcomes,
  jobStatus,
} from "../src/batch/index.js";
import { migrate } from "../src/index.js";
import { quoteSchema } from "../src/sql.js";
import {
  dropSchemas,
  newPool,
  parseOnlyWorkflow,
  postgresAvailable,
  uniqueSchema,
} from "./postgres.js";

const available = await postgresAvailable();
// Seconds alone; beside every other suite on a two-core machine, many times that.
vi.setConfig({ testTimeout: 120_000 });

describe.skipIf(!available)("a batch job shared through PostgreSQL", () => {
  let emulator: Emulator;
  let pool: pg.Pool;
  let workflowId: string;
  const schema = uniqueSchema("batch");
  let jobs = 0;
  const jobName = () => `job-${++jobs}`;

  beforeAll(async () => {
    pool = newPool(20);
    await migrate(pool, { schema });
    emulator = await startEmulator({ port: 0, db: ":memory:", pageLatencyMs: 0 });
    workflowId = await parseOnlyWorkflow(emulator);
  });
  afterAll(async () => {
    await emulator?.close();
    await dropSchemas(pool, [schema]);
    await pool?.end();
  });

  const texts = (n: number, tag: string) =>
    Array.from({ length: n }, (_, i) => ({ rawText: `Invoice ${tag}-${i}, total $${i}.00` }));

  const headers = () => ({
    authorization: `Bearer ${emulator.token}`,
    "x-extend-api-version": "2025-04-21",
  });
  const known = new Set<string>();

  /** How many runs the server holds per input key, for the runs whose metadata has `tag`. */
  async function runsOnServer(tag: string) {
    const seen = new Map<string, number>();
    let token: string | undefined;
    do {
      const url = new URL(`${emulator.url}/workflow_runs`);
      url.searchParams.set("maxPageSize", "1000");
      if (token) url.searchParams.set("nextPageToken", token);
      const page = await (await fetch(url, { headers: headers() })).json();
      for (const summary of page.workflowRuns) {
        if (known.has(summary.id)) continue;
        const { workflowRun: run } = await (
          await fetch(`${emulator.url}/workflow_runs/${summary.id}`, { headers: headers() })
        ).json();
        if (run.metadata?.tag !== tag) continue;
        known.add(run.id);
        const key = run.metadata[KEY_FIELD] as string;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      token = page.nextPageToken;
    } while (token);
    return seen;
  }

  function runner(job: string, inputs: unknown[], tag: string, extra: object = {}) {
    const journal = createPostgresJournal(pool, { job, schema, leaseMs: 10_000 });
    return runBatch({
      client: { baseUrl: emulator.url, token: emulator.token },
      workflowId: workflowId,
      inputs: inputs as never,
      journal,
      // Batch mode: each run carries its input's key, so the server's runs can be counted per input.
      mode: "batch",
      chunkSize: 10,
      lingerMs: 5,
      pollIntervalMs: 50,
      // A submission taken over from a dead runner is watched for late second runs before
      // its outcomes are final; the default two minutes is for real networks.
      duplicateWatchMs: 300,
      metadata: { tag },
      ...extra,
    });
  }

  test("three runners on one job: every input runs once, one runner each, outcomes readable anywhere", async () => {
    const job = jobName();
    const inputs = texts(150, job);
    const outcomes: BatchOutcome[][] = [[], [], []];
    const runners = [0, 1, 2].map(() => runner(job, inputs, job));
    await Promise.all(
      runners.map(async (r, i) => {
        for await (const outcome of r) outcomes[i]?.push(outcome);
      }),
    );
    const keys = outcomes.flat().map((o) => o.key);
    expect(keys).toHaveLength(150);
    expect(new Set(keys).size).toBe(150);
    // The work was shared, not done three times.
    const onServer = await runsOnServer(job);
    expect(onServer.size).toBe(150);
    expect([...onServer.values()].every((n) => n === 1)).toBe(true);
    const recorded: BatchOutcome[] = [];
    for await (const o of jobOutcomes(pool, job, schema)) recorded.push(o);
    expect(recorded.map((o) => o.key).sort()).toEqual([...keys].sort());
    const status = await jobStatus(pool, job, schema);
    expect(status).toMatchObject({ inputs: 150, finished: 150 });
    expect(status?.runners).toHaveLength(3);
    expect(status?.runners.every((r) => r.holding === 0)).toBe(true);
  });

  test("a runner that died mid-submission is taken over: its chunk is reconciled, not resent", async () => {
    const job = jobName();
    const inputs = texts(30, job);
    // Runner A claims every input, records a chunk as sent, and dies before it is answered.
    const dead = createPostgresJournal(pool, {
      job,
      schema,
      // Its heartbeat never comes round during the test: the lease is expired below.
      leaseMs: 600_000,
      runnerId: "dead-a",
    });
    await dead.open({ workflowId: workflowId, mode: "batch" });
    const prepared = inputs.map((input) => prepareInput(input));
    for (const input of prepared) expect((await dead.claim(input, 1)).state).toBe("new");
    const keys = prepared.slice(0, 10).map((i) => i.key);
    await dead.beginChunk({ id: "chunk-of-a", attemptAt: Date.now() - 1000, keys });
    await dead.chunkInFlight("chunk-of-a", Date.now() - 500);
    // Its request reached the server and was applied; the answer never reached the journal.
    const sent = await fetch(`${emulator.url}/workflow_runs/batch`, {
      method: "POST",
      headers: { ...headers(), "content-type": "application/json" },
      body: JSON.stringify({
        workflowId: workflowId,
        inputs: prepared.slice(0, 10).map((input) => ({
          rawText: (input.source as { rawText: string }).rawText,
          metadata: { tag: job, [KEY_FIELD]: input.key },
        })),
      }),
    });
    expect(sent.status).toBe(200);
    // It stops renewing its lease (killed): nothing closes it.
    (dead as unknown as { close(): Promise<void> }).close = async () => {};
    await pool.query(
      `UPDATE ${quoteSchema(schema)}.batch_runners SET lease_until = 0 WHERE job = $1 AND id = 'dead-a'`,
      [job],
    );

    const outcomes: BatchOutcome[] = [];
    for await (const o of runner(job, inputs, job, { reconcileDelayMs: 10 })) outcomes.push(o);
    expect(outcomes.map((o) => o.key).sort()).toEqual(prepared.map((i) => i.key).sort());
    const onServer = await runsOnServer(job);
    expect(onServer.size).toBe(30);
    expect([...onServer.values()].every((n) => n === 1)).toBe(true);
    const status = await jobStatus(pool, job, schema);
    expect(status?.runners.find((r) => r.id === "dead-a")?.state).toBe("dead");
  });

  test("a runner that was paused past its lease can record nothing more: LeaseLostError", async () => {
    const job = jobName();
    const [a, b] = ["paused", "other"].map((runnerId) =>
      createPostgresJournal(pool, { job, schema, leaseMs: 60_000, runnerId }),
    ) as [ReturnType<typeof createPostgresJournal>, ReturnType<typeof createPostgresJournal>];
    await a.open({ workflowId: "workflow_x", mode: "runs" });
    await b.open({ workflowId: "workflow_x", mode: "runs" });
    const input = prepareInput({ rawText: "held by a" });
    expect((await a.claim(input, 1)).state).toBe("new");
    expect((await b.claim(input, 1)).state).toBe("elsewhere");
    // A's lease runs out while it is stopped; B takes its input over.
    await pool.query(
      `UPDATE ${quoteSchema(schema)}.batch_runners SET lease_until = 0 WHERE job = $1 AND id = 'paused'`,
      [job],
    );
    const taken = await b.takeOver?.();
    expect(taken?.entries.map((e) => e.key)).toEqual([input.key]);
    // A wakes up: every write is refused, before anything is sent or recorded.
    await expect(
      a.beginChunk({ id: "late", attemptAt: Date.now(), keys: [input.key] }),
    ).rejects.toThrow(LeaseLostError);
    await expect(
      a.finish({
        key: input.key,
        input: "x",
        status: "PROCESSED",
        finishedAt: "now",
      } as BatchOutcome),
    ).rejects.toThrow(/lost its lease/);
    // And its heartbeat cannot bring the lease back.
    await new Promise((r) => setTimeout(r, 50));
    await expect(a.setFile(input.key, "file_x")).rejects.toThrow(LeaseLostError);
    expect((await b.entry(input.key))?.fileId).toBeUndefined();
    await a.close();
    await b.close();
  });

  test("a runner stopped inside a write is skipped by a takeover, which neither waits nor fences its own runner", async () => {
    const job = jobName();
    const [a, b] = ["stopped", "live"].map((runnerId) =>
      createPostgresJournal(pool, { job, schema, leaseMs: 60_000, runnerId }),
    ) as [ReturnType<typeof createPostgresJournal>, ReturnType<typeof createPostgresJournal>];
    await a.open({ workflowId: "workflow_x", mode: "runs" });
    await b.open({ workflowId: "workflow_x", mode: "runs" });
    const input = prepareInput({ rawText: "held by the stopped runner" });
    expect((await a.claim(input, 1)).state).toBe("new");
    const runners = `${quoteSchema(schema)}.batch_runners`;
    // Both leases have run out (B's too: a loaded machine), and A is stopped mid-write: its
    // transaction holds its row's share lock, as a SIGSTOP inside a write leaves it.
    await pool.query(`UPDATE ${runners} SET lease_until = 0 WHERE job = $1`, [job]);
    const stopped = await pool.connect();
    await stopped.query("BEGIN");
    await stopped.query(`SELECT 1 FROM ${runners} WHERE job = $1 AND id = 'stopped' FOR SHARE`, [
      job,
    ]);
    try {
      // The takeover answers at once, takes nothing, and B is still alive.
      const started = Date.now();
      const first = await b.takeOver?.();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(first?.entries).toEqual([]);
      const dead = await pool.query(`SELECT id, dead FROM ${runners} WHERE job = $1 ORDER BY id`, [
        job,
      ]);
      expect(dead.rows).toEqual([
        { id: "live", dead: false },
        { id: "stopped", dead: false },
      ]);
    } finally {
      await stopped.query("COMMIT");
      stopped.release();
    }
    // Its write over, A is declared dead on the next try, and B takes its input.
    const second = await b.takeOver?.();
    expect(second?.entries.map((e) => e.key)).toEqual([input.key]);
    await expect(a.setFile(input.key, "file_x")).rejects.toThrow(LeaseLostError);
    await a.close();
    await b.close();
  });

  test("a job name keeps its workflow: another workflow is refused", async () => {
    const job = jobName();
    const first = createPostgresJournal(pool, { job, schema });
    await first.open({ workflowId: "workflow_a", mode: "runs" });
    const second = createPostgresJournal(pool, { job, schema });
    await expect(second.open({ workflowId: "workflow_b", mode: "runs" })).rejects.toThrow(
      /runs workflow_a in runs mode, not workflow_b/,
    );
    await first.close();
  });

  test("the rate gate spaces every runner's requests by 1000 / perSecond ms, and a pause holds them all", async () => {
    const name = `gate-${jobName()}`;
    const gates = [0, 1, 2].map(() =>
      createPostgresRateGate(pool, { name, perSecond: 50, schema }),
    );
    const signal = new AbortController().signal;
    const started = performance.now();
    const times: number[] = [];
    await Promise.all(
      gates.map(async (gate) => {
        for (let i = 0; i < 10; i++) {
          await gate.take(signal);
          times.push(performance.now() - started);
        }
      }),
    );
    // 30 slots, 20 ms apart on the database's clock: the last cannot come before 29 × 20 ms.
    expect(times).toHaveLength(30);
    expect(Math.max(...times)).toBeGreaterThanOrEqual(29 * 20 - 5);
    // Timed from before the pause: the pause counts from when the database records it.
    const before = performance.now();
    await gates[0]?.pause(300);
    await gates[2]?.take(signal);
    // Whole milliseconds on the database's clock, and a timer may fire a millisecond early.
    expect(performance.now() - before).toBeGreaterThanOrEqual(298);
  });
});
