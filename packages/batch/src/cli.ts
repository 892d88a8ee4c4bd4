#!/usr/bin/env node
import { createReadStream, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { glob, isDynamicPattern } from "tinyglobby";
import { JournalExistsError, JournalMismatchError } from "./journal.js";
import { createProgress, summaryText } from "./progress.js";
import { runBatch } from "./runner.js";

const HELP = `extendkit batch run: run files through an Extend workflow, exactly once

Usage
  extendkit batch run --workflow <id> [options] <files or globs...>
  find invoices -name '*.pdf' | extendkit batch run --workflow <id> [options]

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
    journal: values.journal ?? `${out}.journal`,
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
  const [group, command, ...rest] = argv;
  if (group === "--version") {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (group === undefined || group === "--help" || group === "-h" || group === "help") {
    process.stdout.write(HELP);
    return group === undefined ? 2 : 0;
  }
  if (group !== "batch" || command !== "run")
    throw new UsageError(
      `unknown command "${[group, command].filter(Boolean).join(" ")}"; the command is: extendkit batch run (see --help).`,
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
