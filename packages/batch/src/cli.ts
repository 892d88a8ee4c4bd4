#!/usr/bin/env node
import { once } from "node:events";
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { glob, isDynamicPattern } from "tinyglobby";
import {
  type BatchJournal,
  JournalExistsError,
  JournalMismatchError,
  type SharedRateGate,
} from "./journal.js";
import { createProgress, summaryText } from "./progress.js";
import { runBatch } from "./runner.js";
import type { BatchOutcome } from "./types.js";

const HELP = `extendkit batch run: run files through an Extend workflow, exactly once

Usage
  extendkit batch run --workflow <id> [options] <files or globs...>
  find invoices -name '*.pdf' | extendkit batch run --workflow <id> [options]
  extendkit batch status --journal postgres://... --job <name>
  extendkit batch results --journal postgres://... --job <name> [--out <file>]

  Without installing it globally: npx @extendkit/batch run ... (also status, results).

Each input gets exactly one run, even when requests fail or the process is killed:
every submission is recorded in a journal before it is sent, and --resume picks a
job up where it stopped. Outcomes go to --out as JSON lines, one per input.

Inputs
  <files or globs...>      Paths, globs ("invoices/**/*.pdf", quote them) or http(s) URLs.
  -                        Read inputs from standard input, one per line (also the
                           default when no input is given and stdin is not a terminal).

Options
  -w, --workflow <id>      Workflow to run (required), e.g. workflow_abc.
      --workflow-version <v>
                           Workflow version, e.g. 3 or draft (default: latest published).
      --mode <runs|batch>  batch: up to 1,000 inputs per POST /workflow_runs/batch (runs
                           at priority 90); runs: up to 50 per POST /workflow_runs, keeps
                           --priority. Default: batch, or runs when --priority is given.
      --priority <1-100>   Queue priority of the runs (runs mode).
      --metadata <json>    JSON object stored on every run.
  -c, --concurrency <n>    Submission requests in flight at most (default 4); halved on
                           each rate limit and grown back as requests succeed.
      --upload-concurrency <n>
                           Uploads in flight at most (default 8).
  -o, --out <file>         Results file, JSON lines (default results.jsonl).
      --journal <file>     Journal file (default <out>.journal).
      --resume             Continue the job recorded in the journal.

Many machines (needs @extendkit/postgres and pg installed)
      --journal postgres://user@host/db
                           A job shared through PostgreSQL: start the same command on
                           several machines and they share the work; each input runs
                           once, a runner that dies is taken over. --out gets this
                           runner's outcomes; 'batch results' writes the whole job's.
      --job <name>         The shared job's name (required with postgres://).
      --rate <n>           Submission requests per second for every runner together;
                           a 429 seen by one pauses them all.
      --lease <ms>         How long a runner holds its inputs without renewing its
                           lease (default 30000); a runner silent longer is taken over.
      --base-url <url>     API root (default $EXTEND_BASE_URL, else https://api.extend.ai).
      --poll-interval <ms> Time between looks for finished runs (default 2000).
      --timeout <ms>       Longest wait for one request's answer (default 60000). A
                           submission that times out may still have been applied: its
                           runs are looked for before it is sent again.
      --reconcile-delay <ms>
                           Wait after an ambiguous submission before looking for its
                           runs (default 2000); raise it for a server that is slow to
                           apply requests.
      --duplicate-watch <ms>
                           How long after a submission that had to be sent again the job
                           keeps watching for runs the first attempt may still create
                           (default 120000); they are cancelled and reported.
      --progress <mode>    bar, lines or none (default: bar on a terminal, else lines).
  -h, --help               Show this help.
      --version            Show the version of extendkit.

Environment
  EXTEND_API_KEY           API token (required).
  EXTEND_BASE_URL          API root, when --base-url is not given.

Exit status
  0  every input has a run that did not fail, and --out holds one line per input
  1  some inputs failed (see --out and the summary)
  2  the command line was wrong
  3  the job stopped early (API unreachable, retry budget spent, interrupted), or
     some input has no line in --out; nothing was lost: run the same command with
     --resume
`;

const OPTIONS = {
  workflow: { type: "string", short: "w" },
  "workflow-version": { type: "string" },
  mode: { type: "string" },
  priority: { type: "string" },
  metadata: { type: "string" },
  concurrency: { type: "string", short: "c" },
  "upload-concurrency": { type: "string" },
  out: { type: "string", short: "o" },
  journal: { type: "string" },
  resume: { type: "boolean" },
  "base-url": { type: "string" },
  "poll-interval": { type: "string" },
  timeout: { type: "string" },
  "reconcile-delay": { type: "string" },
  "duplicate-watch": { type: "string" },
  job: { type: "string" },
  rate: { type: "string" },
  lease: { type: "string" },
  progress: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

class UsageError extends Error {}

function wholeNumber(
  name: string,
  text: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      `--${name} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : " up"}; got "${text}".`,
    );
  return n;
}

/** Globs expand (sorted, so a resumed job reads the same list); plain paths pass as given. */
async function expand(patterns: string[]): Promise<string[]> {
  const inputs: string[] = [];
  for (const pattern of patterns) {
    if (/^https?:\/\//i.test(pattern) || !isDynamicPattern(pattern)) {
      inputs.push(pattern);
      continue;
    }
    const matches = (await glob(pattern, { onlyFiles: true, absolute: true })).sort();
    if (matches.length === 0) process.stderr.write(`extendkit: no files match ${pattern}\n`);
    inputs.push(...matches);
  }
  return inputs;
}

async function* lines(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  for await (const line of createInterface({
    input: stream,
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    const text = line.trim();
    if (text) yield text;
  }
}

async function batchRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (!values.workflow)
    throw new UsageError(
      "--workflow is required: the id of the workflow to run (e.g. workflow_abc).",
    );
  const token = process.env.EXTEND_API_KEY;
  if (!token)
    throw new UsageError("EXTEND_API_KEY is not set: export your Extend API token first.");
  const mode = values.mode;
  if (mode !== undefined && mode !== "runs" && mode !== "batch")
    throw new UsageError(`--mode must be runs or batch; got "${mode}".`);
  const priority = wholeNumber("priority", values.priority, 1, 100);
  if (mode === "batch" && priority !== undefined)
    throw new UsageError(
      "--priority needs --mode runs: the batch endpoint always runs at priority 90.",
    );
  let metadata: Record<string, unknown> | undefined;
  if (values.metadata !== undefined) {
    try {
      metadata = JSON.parse(values.metadata);
    } catch {
      metadata = undefined;
    }
    if (!metadata || typeof metadata !== "object" || Array.isArray(metadata))
      throw new UsageError(
        `--metadata must be a JSON object, like '{"source":"scanner-3"}'; got ${values.metadata}.`,
      );
  }
  const progressMode = values.progress ?? (process.stderr.isTTY ? "bar" : "lines");
  if (!["bar", "lines", "none"].includes(progressMode))
    throw new UsageError(`--progress must be bar, lines or none; got "${progressMode}".`);

  const fromStdin = positionals.includes("-") || (positionals.length === 0 && !process.stdin.isTTY);
  const listed = await expand(positionals.filter((p) => p !== "-"));
  if (!fromStdin && listed.length === 0)
    throw new UsageError(
      "no inputs: give files, globs or URLs, or pipe a list on stdin (see --help).",
    );
  async function* inputs() {
    yield* listed;
    if (fromStdin) yield* lines(process.stdin);
  }

  const out = values.out ?? "results.jsonl";
  const shared = isPostgres(values.journal)
    ? await connectShared(values.journal as string, {
        job: values.job,
        perSecond: positiveNumber("rate", values.rate),
        leaseMs: wholeNumber("lease", values.lease, 100),
      })
    : undefined;
  if (!shared && (values.job !== undefined || values.rate !== undefined))
    throw new UsageError("--job and --rate need a shared journal: --journal postgres://...");
  const controller = new AbortController();
  const stop = (signal: string) => {
    process.stderr.write(
      `\nextendkit: ${signal}: stopping; run the same command with --resume to finish.\n`,
    );
    controller.abort(new Error(`Interrupted by ${signal}.`));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));

  const job = runBatch({
    workflowId: values.workflow,
    ...(values["workflow-version"] ? { version: values["workflow-version"] } : {}),
    inputs: inputs(),
    client: {
      token,
      ...((values["base-url"] ?? process.env.EXTEND_BASE_URL)
        ? { baseUrl: values["base-url"] ?? process.env.EXTEND_BASE_URL }
        : {}),
    },
    ...(mode ? { mode } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(metadata ? { metadata } : {}),
    ...optional("concurrency", wholeNumber("concurrency", values.concurrency, 1)),
    ...optional(
      "uploadConcurrency",
      wholeNumber("upload-concurrency", values["upload-concurrency"], 1),
    ),
    ...optional("pollIntervalMs", wholeNumber("poll-interval", values["poll-interval"], 10)),
    ...optional("timeoutMs", wholeNumber("timeout", values.timeout, 100)),
    ...optional("reconcileDelayMs", wholeNumber("reconcile-delay", values["reconcile-delay"], 0)),
    ...optional("duplicateWatchMs", wholeNumber("duplicate-watch", values["duplicate-watch"], 0)),
    out,
    journal: shared?.journal ?? values.journal ?? `${out}.journal`,
    ...(shared?.rateGate ? { rateGate: shared.rateGate } : {}),
    resume: values.resume === true,
    ...(fromStdin ? {} : { expectedInputs: listed.length }),
    signal: controller.signal,
  });
  const progress =
    progressMode === "none"
      ? undefined
      : createProgress(
          {
            write: (t) => process.stderr.write(t),
            isTTY: progressMode === "bar",
            columns: process.stderr.columns ?? 80,
          },
          () => job.stats,
        );
  // A safety net: the event loop must never run dry while the job is unfinished (it did once,
  // with every task waiting on a rate-limit pause). If it does, say so and exit 3, never 0.
  let settled = false;
  process.once("beforeExit", () => {
    if (settled) return;
    progress?.stop();
    process.stderr.write(
      `extendkit: the job stopped with ${job.stats.inFlight} input(s) still without an outcome. Nothing was lost: run the same command with --resume to finish.\n`,
    );
    process.exitCode = 3;
  });
  try {
    const summary = await job.done();
    settled = true;
    progress?.stop();
    process.stderr.write(summaryText(summary, out));
    if (shared) {
      // --out holds this runner's outcomes; the job's are in the database.
      process.stderr.write(
        `extendkit: job ${values.job} is finished; write every outcome with: extendkit batch results --journal <url> --job ${values.job} --out <file>\n`,
      );
      return summary.failed > 0 ? 1 : 0;
    }
    // Exit 0 only for a results file with exactly one line per input.
    const lines = await countLines(out);
    const expected = fromStdin ? summary.total : listed.length;
    if (lines !== summary.total || summary.total !== expected) {
      process.stderr.write(
        `extendkit: ${out} holds ${lines} line(s) for ${expected} input(s); ${Math.max(0, expected - lines)} have no outcome yet. Nothing was lost: run the same command with --resume to finish.\n`,
      );
      return 3;
    }
    return summary.failed > 0 ? 1 : 0;
  } catch (error) {
    settled = true;
    progress?.stop();
    process.stderr.write(`extendkit: ${(error as Error).message}\n`);
    // A journal of another job, or one that needs --resume, is a command-line matter.
    return error instanceof JournalExistsError || error instanceof JournalMismatchError ? 2 : 3;
  } finally {
    await shared?.close();
  }
}

const isPostgres = (journal: string | undefined) =>
  journal !== undefined && /^postgres(ql)?:\/\//i.test(journal);

function positiveNumber(name: string, text: string | undefined) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number above 0; got "${text}".`);
  return n;
}

/** What the CLI uses of @extendkit/postgres (an optional peer, typed here, not imported). */
interface PostgresModule {
  connectJob(
    url: string,
    options: { job: string; perSecond?: number; leaseMs?: number },
  ): Promise<{ journal: BatchJournal; rateGate?: SharedRateGate; close(): Promise<void> }>;
  connectReader(url: string): Promise<{
    status(job: string): Promise<
      | {
          job: string;
          workflowId: string;
          inputs: number;
          finished: number;
          byStatus: Record<string, number>;
          runners: Array<{ id: string; host: string; pid: number; state: string; holding: number }>;
        }
      | undefined
    >;
    outcomes(job: string): AsyncIterable<BatchOutcome>;
    close(): Promise<void>;
  }>;
}
type Shared = Awaited<ReturnType<PostgresModule["connectJob"]>>;

/**
 * Loads @extendkit/postgres from the user's project (the working directory) or beside this
 * package, and connects the job: it is an optional peer, never a dependency of the CLI.
 */
async function loadPostgres(): Promise<PostgresModule> {
  for (const base of [join(process.cwd(), "package.json"), fileURLToPath(import.meta.url)]) {
    try {
      const resolved = createRequire(base).resolve("@extendkit/postgres/batch");
      return await import(pathToFileURL(resolved).href);
    } catch {}
  }
  throw new UsageError(
    "--journal postgres://... needs @extendkit/postgres and pg in this project: npm install @extendkit/postgres pg",
  );
}

async function connectShared(
  url: string,
  options: { job: string | undefined; perSecond?: number; leaseMs?: number },
): Promise<Shared> {
  if (!options.job)
    throw new UsageError(
      "--job is required with --journal postgres://...: the name every runner of the job uses.",
    );
  const { connectJob } = await loadPostgres();
  return connectJob(url, {
    job: options.job,
    ...(options.perSecond !== undefined ? { perSecond: options.perSecond } : {}),
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
  });
}

/** `extendkit batch status` and `extendkit batch results`: a shared job, from any machine. */
async function batchReport(command: "status" | "results", argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      journal: { type: "string" },
      job: { type: "string" },
      out: { type: "string", short: "o" },
      json: { type: "boolean" },
    },
  });
  if (!isPostgres(values.journal))
    throw new UsageError(`batch ${command} reads a shared job: pass --journal postgres://...`);
  if (!values.job) throw new UsageError(`batch ${command} needs --job <name>.`);
  const reader = await (await loadPostgres()).connectReader(values.journal as string);
  try {
    if (command === "status") {
      const status = await reader.status(values.job);
      if (!status) throw new UsageError(`there is no job named ${JSON.stringify(values.job)}.`);
      if (values.json) {
        process.stdout.write(`${JSON.stringify(status)}\n`);
        return 0;
      }
      const statuses = Object.entries(status.byStatus)
        .map(([name, n]) => `${n} ${name}`)
        .join(", ");
      process.stdout.write(
        `job ${status.job} (${status.workflowId}): ${status.finished}/${status.inputs} inputs finished${statuses ? ` (${statuses})` : ""}\n`,
      );
      for (const r of status.runners)
        process.stdout.write(
          `  runner ${r.id} on ${r.host} (pid ${r.pid}): ${r.state}, holding ${r.holding}\n`,
        );
      return 0;
    }
    const file = values.out ?? "results.jsonl";
    const stream = createWriteStream(file);
    let count = 0;
    for await (const outcome of reader.outcomes(values.job)) {
      if (!stream.write(`${JSON.stringify(outcome)}\n`)) await once(stream, "drain");
      count++;
    }
    stream.end();
    await once(stream, "close");
    process.stderr.write(`extendkit: wrote ${count} outcome(s) of job ${values.job} to ${file}\n`);
    return 0;
  } finally {
    await reader.close();
  }
}

/** The number of lines of a file, read as a stream (a results file can be large). */
async function countLines(path: string): Promise<number> {
  let count = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>)
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) count++;
  return count;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return String(pkg.version);
}

async function main(argv: string[]): Promise<number> {
  // `extendkit batch run ...`, or `run ...` alone: `npx @extendkit/batch run ...` names this
  // package, so npx can never resolve the command to another package called "extendkit".
  const commands = new Set(["run", "status", "results"]);
  const [group, command, ...rest] = commands.has(argv[0] ?? "") ? ["batch", ...argv] : argv;
  if (group === "--version") {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (group === undefined || group === "--help" || group === "-h" || group === "help") {
    process.stdout.write(HELP);
    return group === undefined ? 2 : 0;
  }
  if (group === "batch" && (command === "status" || command === "results"))
    return batchReport(command, rest);
  if (group !== "batch" || command !== "run")
    throw new UsageError(
      `unknown command "${[group, command].filter(Boolean).join(" ")}"; the commands are: extendkit batch run, batch status, batch results (see --help).`,
    );
  return batchRun(rest);
}

// Exit once the job has closed its journal and results: a stdin pipe with nothing more to
// say must not keep the process alive.
const exit = (code: number) => process.stderr.write("", () => process.exit(code));

main(process.argv.slice(2)).then(
  (code) => exit(code),
  (error) => {
    const usage =
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    process.stderr.write(
      `extendkit: ${(error as Error).message}${usage ? "\nRun extendkit --help for usage." : ""}\n`,
    );
    exit(usage ? 2 : 3);
  },
);
