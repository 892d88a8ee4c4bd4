#!/usr/bin/env node
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseFaults } from "./faults.js";
import { parseRateLimit } from "./rate-limit.js";
import { sampleInvoicePdf } from "./sample.js";
import { startEmulator } from "./server.js";

const HELP = `extendkit-emulator: a local emulator of the Extend API 2025-04-21

Usage: extendkit-emulator [options]        start the emulator
       extendkit-emulator sample [file]     write a sample invoice PDF (default invoice.pdf)

  --port <n>              port to listen on (default 4010; 0 picks a free one)
  --host <addr>           interface to listen on (default 127.0.0.1)
  --db <path>             SQLite database file, or :memory: (default .extendkit-emulator/extend.db)
  --seed <what>           default | none | path to a seed JSON file (default: default)
  --token <token>         bearer token to accept (default extendkit_emulator_token)
  --faults <spec>         e.g. status=503@0.05,reset@0.01,latency=200@0.1,lost-response#1
                          types: status, rate-limit, reset, latency, lost-response, slow-apply,
                          echo, redirect, hang, slow-body, cut-body (see the README)
  --fault-seed <n>        seed of the fault generator (default 1)
  --rate-limit <spec>     requests per second per category, e.g. get=50,write=20,run=5
  --page-latency <ms>     simulated processing time per page (default 20)
  --concurrency <n>       runs executed at once (default 4)
  --missing-version <m>   reject | fallback: answer for requests without x-extend-api-version
  --quiet                 do not log requests
  --help                  show this help
`;

async function main() {
  const { values, positionals } = parseArgs({
    options: {
      port: { type: "string", default: "4010" },
      host: { type: "string", default: "127.0.0.1" },
      db: { type: "string", default: ".extendkit-emulator/extend.db" },
      seed: { type: "string", default: "default" },
      token: { type: "string" },
      faults: { type: "string" },
      "fault-seed": { type: "string" },
      "rate-limit": { type: "string" },
      "page-latency": { type: "string", default: "20" },
      concurrency: { type: "string", default: "4" },
      "missing-version": { type: "string", default: "reject" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (positionals[0] === "sample") {
    if (positionals.length > 2) throw new Error("sample takes one file name at most");
    await writeSample(positionals[1] ?? "invoice.pdf");
    return;
  }
  if (positionals.length > 0)
    throw new Error(`unknown command "${positionals[0]}"; see extendkit-emulator --help`);
  const number = (name: string, value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`--${name} must be a whole number; got "${value}"`);
    return n;
  };
  if (values["missing-version"] !== "reject" && values["missing-version"] !== "fallback") {
    throw new Error(
      `--missing-version must be reject or fallback; got "${values["missing-version"]}"`,
    );
  }
  if (values.db !== ":memory:") prepareStateDir(path.dirname(path.resolve(values.db)));
  const emulator = await startEmulator({
    port: number("port", values.port),
    host: values.host,
    db: values.db,
    seed: values.seed,
    ...(values.token ? { token: values.token } : {}),
    ...(values.faults
      ? {
          faults: parseFaults(
            values.faults,
            values["fault-seed"] ? number("fault-seed", values["fault-seed"]) : undefined,
          ),
        }
      : {}),
    ...(values["rate-limit"] ? { rateLimit: parseRateLimit(values["rate-limit"]) } : {}),
    pageLatencyMs: number("page-latency", values["page-latency"]),
    concurrency: Math.max(1, number("concurrency", values.concurrency)),
    missingVersion: values["missing-version"],
    ...(values.quiet ? {} : { log: (line: string) => process.stderr.write(`${line}\n`) }),
  });
  process.stdout.write(
    [
      `Extend API emulator (2025-04-21) at ${emulator.url}`,
      "",
      "Point a shell at it (createClient() and the batch CLI read these):",
      `  export EXTEND_BASE_URL=${emulator.url}`,
      `  export EXTEND_API_KEY=${emulator.token}`,
      "",
      `  workflows: ${emulator.seed.workflowId} (parse, classify, extract, rule checks)`,
      `             ${emulator.seed.reviewWorkflowId} (the same, ending in human review)`,
      `  processors: ${emulator.seed.extractorId} (invoice fields), ${emulator.seed.classifierId}`,
      `  database:  ${values.db}`,
      `  admin API: ${emulator.url}/_emulator/health`,
      "  a sample document: npx @extendkit/emulator sample invoice.pdf",
      "",
    ].join("\n"),
  );
  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/**
 * Creates the folder that holds the database. A folder the emulator creates gets a
 * `.gitignore` of `*`, so its state never shows up in the user's `git status`.
 */
function prepareStateDir(dir: string) {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, ".gitignore"),
    "# Written by extendkit-emulator: its local state, never committed.\n*\n",
  );
}

async function writeSample(file: string) {
  const invoice = await sampleInvoicePdf();
  await writeFile(file, invoice.bytes, { flag: "wx" }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === "EEXIST"
      ? new Error(`${file} exists; pass another file name (extendkit-emulator sample other.pdf)`)
      : error;
  });
  const { invoice_number, total } = invoice.values;
  process.stdout.write(
    `wrote ${file}: invoice ${invoice_number}, total ${total.amount.toFixed(2)} ${total.iso_4217_currency_code}, ${invoice.bytes.length} bytes\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`extendkit-emulator: ${error.message}\n`);
  process.exit(1);
});
