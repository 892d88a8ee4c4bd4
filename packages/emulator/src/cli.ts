#!/usr/bin/env node
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseFaults } from "./faults.js";
import { parseRateLimit } from "./rate-limit.js";
import { startEmulator } from "./server.js";

const HELP = `extendkit-emulator: a local emulator of the Extend API 2025-04-21

Usage: extendkit-emulator [options]

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
  const { values } = parseArgs({
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
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
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
  if (values.db !== ":memory:")
    mkdirSync(path.dirname(path.resolve(values.db)), { recursive: true });
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
      "Extend API emulator (2025-04-21)",
      `  base URL:  ${emulator.url}`,
      `  token:     ${emulator.token}`,
      `  database:  ${values.db}`,
      `  workflow:  ${emulator.seed.workflowId} (seeded invoice workflow)`,
      `  admin API: ${emulator.url}/_emulator/health`,
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

main().catch((error: Error) => {
  process.stderr.write(`extendkit-emulator: ${error.message}\n`);
  process.exit(1);
});
