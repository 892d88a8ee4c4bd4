/**
 * Batch jobs shared through PostgreSQL: the aggregate submission rate of 1, 2 and 3 runners
 * against an API limited to R requests per second, with the shared rate gate and without
 * it, and the journal's throughput (inputs claimed and recorded per second). Needs the
 * PostgreSQL of EXTENDKIT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
 */
import { randomBytes } from "node:crypto";
import { prepareInput, runBatch } from "@extendkit/batch";
import { startEmulator } from "@extendkit/emulator";
import { migrate } from "@extendkit/postgres";
import { createPostgresJournal, createPostgresRateGate } from "@extendkit/postgres/batch";
import pg from "pg";
import type { Row } from "./types.js";

const URL_ = process.env.EXTENDKIT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
// The API's submission limit, requests per second.
const R = Number(process.env.BENCH_SHARED_RATE ?? 10);
// Submissions per configuration: 12 s at the limit.
const INPUTS = R * 12;

interface Measure {
  accepted: number;
  throttled: number;
  seconds: number;
}

async function submissions(
  runners: number,
  shared: boolean,
  pool: pg.Pool,
  schema: string,
): Promise<Measure> {
  const accepted: number[] = [];
  let throttled = 0;
  const emulator = await startEmulator({
    port: 0,
    db: ":memory:",
    pageLatencyMs: 0,
    rateLimit: { run: R },
    log: (line) => {
      if (!line.startsWith("POST /workflow_runs ")) return;
      if (/→ 200/.test(line)) accepted.push(performance.now());
      else if (/→ 429/.test(line)) throttled++;
    },
  });
  const job = `bench-${randomBytes(4).toString("hex")}`;
  const inputs = Array.from({ length: INPUTS }, (_, i) => ({ rawText: `Invoice ${job}-${i}` }));
  try {
    await Promise.all(
      Array.from({ length: runners }, () =>
        runBatch({
          client: { baseUrl: emulator.url, token: emulator.token },
          workflowId: emulator.seed.workflowId,
          inputs,
          mode: "runs",
          // One input per request: the rate is the request rate.
          chunkSize: 1,
          lingerMs: 0,
          pollIntervalMs: 200,
          journal: createPostgresJournal(pool, { job, schema }),
          ...(shared
            ? { rateGate: createPostgresRateGate(pool, { name: job, perSecond: R, schema }) }
            : {}),
        }).done(),
      ),
    );
  } finally {
    await emulator.close();
  }
  accepted.sort((a, b) => a - b);
  const seconds = ((accepted.at(-1) ?? 0) - (accepted[0] ?? 0)) / 1000;

  return { accepted: accepted.length, throttled, seconds };
}

async function journalThroughput(pool: pg.Pool, schema: string, concurrency: number) {
  const job = `bench-journal-${randomBytes(4).toString("hex")}`;
  const journal = createPostgresJournal(pool, { job, schema });
  const { epoch } = await journal.open({ workflowId: "workflow_bench", mode: "runs" });
  const total = 2000;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const input = prepareInput({ rawText: `journal bench ${i}` });
        await journal.claim(input, epoch);
        await journal.finish({
          key: input.key,
          input: `text ${i}`,
          status: "PROCESSED",
          finishedAt: new Date().toISOString(),
        });
      }
    }),
  );
  const perSecond = total / ((performance.now() - started) / 1000);
  await journal.close();
  return perSecond;
}

export async function sharedJobs(): Promise<Row[]> {
  const pool = new pg.Pool({ connectionString: URL_, max: 20 });
  const schema = `extendkit_bench_${randomBytes(3).toString("hex")}`;
  const rows: Row[] = [];
  try {
    await migrate(pool, { schema });
    for (const shared of [true, false]) {
      for (const runners of shared ? [1, 2, 3] : [3]) {
        const m = await submissions(runners, shared, pool, schema);
        // n submissions span n - 1 intervals.
        const rate = (m.accepted - 1) / Math.max(m.seconds, 0.001);
        const perMinute = (m.throttled / Math.max(m.seconds, 0.001)) * 60;
        rows.push({
          benchmark: `shared job: ${runners} runner(s), ${shared ? "shared gate" : "no shared gate"}`,
          result: `${rate.toFixed(2)} submissions/s = ${(rate / R).toFixed(2)} R; ${perMinute.toFixed(0)} 429s/min`,
          against: shared
            ? `target ≥ 0.90 R, never above R (R = ${R}/s): no 429 from the limiter`
            : "the same runners with the shared gate (above)",
          verdict: shared
            ? rate >= 0.9 * R && rate <= R * 1.005 && m.throttled === 0
              ? "meets"
              : "misses"
            : "info",
          method: `${INPUTS} inputs, one per POST /workflow_runs, through ${runners} runBatch runner(s) sharing one Postgres journal${shared ? ` and one Postgres rate gate at R` : ", each pacing itself (AIMD, Retry-After)"}, against an emulator limited to R = ${R} submissions/s. Rate: accepted submissions (the intervals from the first to the last) per second; 429s per minute of that time. The emulator's limiter is a token bucket of R per second, so no 429 means never above R.`,
        });
      }
    }
    for (const concurrency of [1, 8]) {
      const perSecond = await journalThroughput(pool, schema, concurrency);
      rows.push({
        benchmark: `Postgres journal, ${concurrency} writer(s)`,
        result: `${perSecond.toFixed(0)} inputs claimed and recorded/s`,
        against: "info (each input: claim + finish, two fenced transactions)",
        verdict: "info",
        method: `2,000 inputs claimed and finished through createPostgresJournal with ${concurrency} concurrent writer(s) on one pg.Pool (loopback PostgreSQL 15).`,
      });
    }
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
  return rows;
}
