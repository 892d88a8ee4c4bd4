#!/usr/bin/env node
// Packs every published package the way `pnpm publish` would (workspace ranges replaced)
// into .pack/, then lints each tarball: publint (package.json, exports, files) and
// arethetypeswrong (types resolve, for every entry, in node10, node16 CJS and ESM, and
// bundler resolution). Exits 1 on any problem. Run after `pnpm build`.
import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkPackage, createPackageFromTarballData } from "@arethetypeswrong/core";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The published packages, in dependency order. */
export const PUBLISHED = ["core", "emulator", "express", "next", "batch", "postgres", "redis"];
const out = path.join(root, ".pack");
const RESOLUTIONS = ["node10", "node16-cjs", "node16-esm", "bundler"];

/** The pinned pnpm, as the README's commands run it. */
function pnpm(args, cwd) {
  return execFileSync("npx", ["-y", "pnpm@12.4.2", ...args], { cwd, encoding: "utf8" });
}

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
let failed = false;
const rows = [];
for (const name of PUBLISHED) {
  const dir = path.join(root, "packages", name);
  const before = new Set(await readdir(out));
  pnpm(["pack", "--pack-destination", out], dir);
  const tarball = (await readdir(out)).find((file) => !before.has(file));
  if (!tarball) throw new Error(`pnpm pack wrote no tarball for packages/${name}`);
  const data = await readFile(path.join(out, tarball));

  const lint = await publint({
    pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
    strict: true,
  });
  const messages = lint.messages.map((m) => `${m.type}: ${formatMessage(m, lint.pkg)}`);
  if (lint.messages.some((m) => m.type !== "suggestion")) failed = true;

  const pkg = createPackageFromTarballData(new Uint8Array(data));
  const result = await checkPackage(pkg);
  const problems = result.types ? result.problems : [{ kind: "NoTypes", resolutionKind: "all" }];
  if (problems.length) failed = true;
  const entrypoints = Object.keys(result.entrypoints ?? {});
  const cells = RESOLUTIONS.map((resolution) => {
    const found = problems.filter((p) => !p.resolutionKind || p.resolutionKind === resolution);
    return found.length ? [...new Set(found.map((p) => p.kind))].join(",") : "ok";
  });
  rows.push([
    `@extendkit/${name}`,
    `${(data.length / 1024).toFixed(1)} kB`,
    entrypoints.length,
    lint.messages.filter((m) => m.type !== "suggestion").length ? "FAIL" : "ok",
    ...cells,
  ]);
  for (const message of messages) console.log(`  ${tarball}: ${message}`);
}

const header = ["package", "tarball", "entries", "publint", ...RESOLUTIONS.map((r) => `attw ${r}`)];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join("  ");
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(
  failed
    ? "\nPackage checks failed."
    : `\nAll ${rows.length} packages pass publint and arethetypeswrong; tarballs in .pack/.`,
);
process.exit(failed ? 1 : 0);
