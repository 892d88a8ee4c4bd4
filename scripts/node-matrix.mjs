#!/usr/bin/env node
// Runs what users run on each current Node line: the packed-package consumer projects
// (scripts/consumers.mjs, needs .pack/ from scripts/pack.mjs) and the core, integration and
// batch suites, on Node 22 and 24, whose binaries come from the npm registry
// (`npx -y node@22`). `pnpm verify` runs the same on the machine's Node (20). Prints one
// table; exits 1 if anything failed. `--node 24` runs one line only.
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const picked = process.argv.indexOf("--node");
const LINES = picked > 0 ? [process.argv[picked + 1]] : ["22", "24"];
const SUITES = ["core", "integration", "batch"];
const env = { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" };

const rows = [];
let failed = false;
for (const line of LINES) {
  const node = execFileSync("npx", ["-y", `node@${line}`, "-p", "process.execPath"], {
    encoding: "utf8",
    env,
  }).trim();
  const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
  const run = (label, args, cwd) => {
    const started = performance.now();
    const result = spawnSync(node, args, { cwd, env, encoding: "utf8", maxBuffer: 1 << 28 });
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    const output = `${result.stdout}${result.stderr}`;
    const tests = /Tests\s+(?:(\d+) failed \| )?(\d+) passed(?: \| (\d+) skipped)?/.exec(output);
    const ok = result.status === 0;
    if (!ok) {
      failed = true;
      console.error(`\n== ${label} on Node ${version} failed:\n${output.slice(-6000)}`);
    }
    rows.push([
      version,
      label,
      ok ? "ok" : "FAILED",
      tests
        ? `${tests[2]} passed${tests[1] ? `, ${tests[1]} failed` : ""}${tests[3] ? `, ${tests[3]} skipped` : ""}`
        : "-",
      `${seconds} s`,
    ]);
    console.log(`${version} ${label}: ${ok ? "ok" : "FAILED"} in ${seconds} s`);
  };
  run("consumers (ESM, bundler, CJS)", [path.join(root, "scripts", "consumers.mjs")], root);
  for (const suite of SUITES) {
    const cwd = path.join(root, "packages", suite);
    run(
      `@extendkit/${suite} suite`,
      [path.join(cwd, "node_modules", "vitest", "vitest.mjs"), "run"],
      cwd,
    );
  }
}
const header = ["node", "what", "result", "tests", "time"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
console.log();
for (const cells of [header, ...rows])
  console.log(cells.map((c, i) => c.padEnd(widths[i])).join("  "));
process.exit(failed ? 1 : 0);
