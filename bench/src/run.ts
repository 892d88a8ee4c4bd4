/**
 * Runs every benchmark of the project and prints one table. `pnpm bench` from the root.
 * Set BENCH_DURATION (seconds per load test) to shorten or lengthen the HTTP runs.
 */
import { batchRunner } from "./batch-runner.js";
import { bundleSize } from "./bundle-size.js";
import { clientOverhead } from "./client-overhead.js";
import { emulatorHttp } from "./emulator-http.js";
import { formatThroughput } from "./format-throughput.js";
import { parseThroughput } from "./parse-throughput.js";
import { proxyScan } from "./proxy-scan.js";
import { sharedJobs } from "./shared-jobs.js";
import type { Row } from "./types.js";

const suites: Array<[string, () => Promise<Row[]>]> = [
  ["bundle size", bundleSize],
  ["client overhead", clientOverhead],
  ["emulator over HTTP", emulatorHttp],
  ["parse throughput", parseThroughput],
  ["parse throughput per format", formatThroughput],
  ["proxy scan", proxyScan],
  ["batch runner", batchRunner],
  ["shared jobs", sharedJobs],
];

// `pnpm bench -- client` runs only the suites whose name contains "client".
// pnpm passes the "--" along; it is not a filter.
const only = process.argv.slice(2).find((arg) => arg !== "--");

function render(rows: Row[]) {
  const header = ["benchmark", "result", "against", "verdict"];
  const cells = rows.map((r) => [r.benchmark, r.result, r.against, r.verdict]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...cells.map(line),
  ].join("\n");
}

const rows: Row[] = [];
for (const [name, suite] of suites.filter(([name]) => !only || name.includes(only))) {
  process.stderr.write(`running ${name}…\n`);
  rows.push(...(await suite()));
}
console.log(render(rows));
console.log("\nMethods:");
for (const row of rows) console.log(`- ${row.benchmark}: ${row.method}`);
