#!/usr/bin/env node
// Runs the guides as a reader would: every fenced block of docs/*.md marked `runnable`, in
// order, in a terminal-like session that starts in an empty folder outside the workspace.
// Run after `pnpm build`; the guides install the packages from this checkout with
// scripts/install-local.mjs (packed tarballs), so `$EXTENDKIT` is set to the checkout.
//
//   ```sh runnable              run in bash; `cd` and `export` carry over to later blocks
//   ```sh runnable background   start it (a server), wait for its first output, stop it
//                               when the guide ends (```ts ... background: the same for
//                               `npx tsx <file>`)
//   ```ts runnable file=a.ts    write a.ts (default guide-<n>.ts) and run `npx tsx a.ts`
//   ... norun                   write the file only (a later block runs it)
//   ... append                  add to the file instead of replacing it
//
// `node scripts/test-guides.mjs [docs/batch.md ...]` runs some guides only; `--keep` keeps
// the folders. A block that exits non-zero fails its guide, with the block and its output.
import { spawn } from "node:child_process";
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const keep = process.argv.includes("--keep");
const chosen = process.argv.slice(2).filter((a) => a.endsWith(".md"));
const guides = chosen.length
  ? chosen.map((g) => path.resolve(g))
  : readdirSync(path.join(root, "docs"))
      .filter((f) => f.endsWith(".md"))
      .sort((a, b) =>
        a === "getting-started.md" ? -1 : b === "getting-started.md" ? 1 : a.localeCompare(b),
      )
      .map((f) => path.join(root, "docs", f));

/** The runnable blocks of a guide, in order, with their line numbers. */
function blocks(file) {
  const found = [];
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s+(.*\brunnable\b.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    const body = [];
    while (++i < lines.length && !lines[i].startsWith("```")) body.push(lines[i]);
    const words = open[2].split(/\s+/);
    found.push({
      lang: open[1],
      line: start,
      code: `${body.join("\n")}\n`,
      file: words.find((w) => w.startsWith("file="))?.slice(5),
      background: words.includes("background"),
      norun: words.includes("norun"),
      append: words.includes("append"),
    });
  }
  return found;
}

/** The environment a reader's fresh terminal has: none of pnpm's, npm's or our variables. */
function freshEnv() {
  const env = {};
  for (const [name, value] of Object.entries(process.env))
    if (!/^(npm_|pnpm_|PNPM_|EXTEND_|EXTENDKIT_|INIT_CWD$|TURBO_)/i.test(name)) env[name] = value;
  // Where the guides tell the reader to put their checkout.
  env.EXTENDKIT = root;
  env.FORCE_COLOR = "0";
  return env;
}

/** Runs one guide; resolves to its row of the summary table. */
async function runGuide(guide) {
  const name = path.relative(root, guide);
  const list = blocks(guide);
  if (list.length === 0) return { name, blocks: 0, result: "no runnable blocks", seconds: 0 };
  const home = mkdtempSync(path.join(os.tmpdir(), "extendkit-guide-"));
  const stateFile = path.join(home, ".session");
  let cwd = home;
  let env = freshEnv();
  const servers = [];
  const tsFiles = [];
  const started = performance.now();
  let failure;
  try {
    for (const [index, block] of list.entries()) {
      const where = `${name}:${block.line}`;
      if (block.lang === "sh" && block.background) {
        servers.push(await startServer(block.code, cwd, env, where));
        continue;
      }
      if (block.lang === "ts" && block.background) {
        const file = block.file ?? `guide-${index + 1}.ts`;
        writeFileSync(path.join(cwd, file), block.code);
        tsFiles.push(file);
        servers.push(await startServer(`npx tsx ${JSON.stringify(file)}`, cwd, env, where));
        continue;
      }
      let command;
      if (block.lang === "sh" || block.lang === "bash") {
        // The block, then the session's state for the next one: where it ended, what it exported.
        command = `set -eo pipefail\n${block.code}\nprintf '%s\\0' "$PWD" > '${stateFile}'\nenv -0 >> '${stateFile}'\n`;
      } else if (block.lang === "ts") {
        const file = path.join(cwd, block.file ?? `guide-${index + 1}.ts`);
        (block.append ? appendFileSync : writeFileSync)(file, block.code);
        tsFiles.push(path.relative(cwd, file));
        if (block.norun) continue;
        command = `npx tsx ${JSON.stringify(path.basename(file))}`;
      } else {
        throw new Error(`${where}: a runnable block must be sh or ts, not ${block.lang}`);
      }
      const result = await sh(command, cwd, env);
      const output = `${result.stdout}${result.stderr}`.trimEnd();
      console.log(
        `\n$ ${where}${block.lang === "ts" ? ` (${command})` : ""}\n${indent(block.lang === "ts" ? output : `${block.code.trimEnd()}\n${output}`)}`,
      );
      if (result.status !== 0) {
        failure = `${where} exited with ${result.status ?? result.signal}`;
        break;
      }
      if (block.lang !== "ts") {
        const [dir, ...vars] = readFileSync(stateFile, "utf8").split("\0").filter(Boolean);
        cwd = dir;
        env = Object.fromEntries(
          vars.map((v) => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)]),
        );
      }
    }
    // tsx strips types without checking them: check the guide's TypeScript as an editor would.
    const written = [...new Set(tsFiles)];
    if (!failure && written.length) {
      const args = ["tsc", "--noEmit", "--strict", "--skipLibCheck", "false", "--target", "es2022"];
      const command = `npx ${[...args, "--module", "nodenext", ...written].join(" ")}`;
      const result = await sh(command, cwd, env);
      console.log(
        `\n$ ${name}: ${command}\n${indent(`${result.stdout}${result.stderr}`.trimEnd() || "(no errors)")}`,
      );
      if (result.status !== 0)
        failure = `its TypeScript does not type-check (${written.join(", ")})`;
    }
  } catch (error) {
    failure = error.message;
  } finally {
    for (const server of servers) {
      try {
        process.kill(-server.pid, "SIGTERM");
      } catch {}
      const later = server.output().slice(server.shown).trimEnd().split("\n").slice(-15).join("\n");
      if (later) console.log(`\n(${server.where}, the last it printed)\n${indent(later)}`);
    }
    if (!keep) rmSync(home, { recursive: true, force: true });
    else console.log(`kept ${home}`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  return { name, blocks: list.length, result: failure ? `FAILED: ${failure}` : "ok", seconds };
}

const indent = (text) => text.replace(/^/gm, "  ");

/**
 * Runs a command in bash and collects its output. Asynchronous on purpose: the event loop
 * keeps reading the background servers' pipes meanwhile, so a chatty server never blocks.
 */
function sh(command, cwd, env, timeoutMs = 300_000) {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", command], { cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Starts a background block in its own process group; resolves once it has printed something. */
function startServer(code, cwd, env, where) {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", `exec ${code.trim()}`], { cwd, env, detached: true });
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${where} printed nothing in 60 s`)), 60_000);
    let ready = false;
    child.stdout.on("data", (chunk) => {
      output += chunk;
      if (ready) return;
      ready = true;
      // The whole banner, not its first chunk.
      setTimeout(() => {
        clearTimeout(timer);
        Object.assign(child, { where, shown: output.length, output: () => output });
        console.log(
          `\n$ ${where} (in the background)\n${indent(`${code.trimEnd()}\n${output.trimEnd()}`)}`,
        );
        resolve(child);
      }, 300);
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.once("exit", (status) => {
      clearTimeout(timer);
      reject(new Error(`${where} exited (${status}) before it printed anything:\n${output}`));
    });
  });
}

const rows = [];
for (const guide of guides) rows.push(await runGuide(guide));
console.log();
const header = ["guide", "blocks", "result", "time"];
const cells = rows.map((r) => [r.name, String(r.blocks), r.result, `${r.seconds} s`]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
for (const line of [header, ...cells])
  console.log(line.map((c, i) => c.padEnd(widths[i])).join("  "));
process.exit(rows.some((r) => r.result.startsWith("FAILED")) ? 1 : 0);
