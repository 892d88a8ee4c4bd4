#!/usr/bin/env node
// Installs extendkit packages from this checkout into the npm project in the working
// directory, as `npm install @extendkit/<name>` will once they are on the registry:
//
//   node /path/to/extendkit/scripts/install-local.mjs core emulator
//   node /path/to/extendkit/scripts/install-local.mjs --dev emulator
//
// It builds the packages (turbo, cached), packs them as `pnpm publish` would, copies the
// tarballs into ./extendkit-packages/ (so package.json never points into the checkout),
// and runs one `npm install` of them. Packages a requested one depends on (core, for all of
// them) are installed too, unless the project has them already, so any order works.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PUBLISHED = ["core", "emulator", "express", "next", "batch", "postgres", "redis"];
const args = process.argv.slice(2);
const dev = args.includes("--dev") || args.includes("-D");
const names = args.filter((a) => !a.startsWith("-")).map((a) => a.replace(/^@extendkit\//, ""));

function fail(message) {
  console.error(`install-local: ${message}`);
  process.exit(2);
}
if (names.length === 0 || args.includes("--help"))
  fail(`name the packages to install: ${PUBLISHED.join(", ")} (add --dev for devDependencies)`);
for (const name of names)
  if (!PUBLISHED.includes(name))
    fail(`no package "${name}"; the packages are ${PUBLISHED.join(", ")}`);
const project = process.cwd();
if (!existsSync(path.join(project, "package.json")))
  fail(`${project} has no package.json: run it in your project's folder (npm init -y makes one)`);
if (!path.relative(root, project).startsWith(".."))
  fail("run it in your own project's folder, outside the extendkit checkout");

/** The extendkit packages `name` needs at run time, itself first. */
function closure(name, seen = new Set()) {
  if (seen.has(name)) return [];
  seen.add(name);
  const pkg = JSON.parse(readFileSync(path.join(root, "packages", name, "package.json"), "utf8"));
  const needs = Object.keys(pkg.dependencies ?? {})
    .filter((dep) => dep.startsWith("@extendkit/"))
    .map((dep) => dep.slice("@extendkit/".length));
  return [name, ...needs.flatMap((dep) => closure(dep, seen))];
}
const projectPkg = JSON.parse(readFileSync(path.join(project, "package.json"), "utf8"));
const installed = new Set(
  Object.keys({ ...projectPkg.dependencies, ...projectPkg.devDependencies }),
);
const wanted = [...new Set(names.flatMap((name) => closure(name)))].filter(
  (name) => names.includes(name) || !installed.has(`@extendkit/${name}`),
);

const quiet = {
  stdio: ["ignore", "pipe", "inherit"],
  encoding: "utf8",
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", TURBO_NO_UPDATE_NOTIFIER: "1" },
};
const pnpm = (argv, cwd) => execFileSync("npx", ["-y", "pnpm@12.4.2", ...argv], { cwd, ...quiet });
if (!existsSync(path.join(root, "node_modules"))) {
  console.log(`Installing the checkout's dependencies (${root})…`);
  pnpm(["install", "--frozen-lockfile"], root);
}
console.log(`Building ${wanted.map((n) => `@extendkit/${n}`).join(", ")}…`);
pnpm(
  [
    "exec",
    "turbo",
    "run",
    "build",
    "--output-logs=errors-only",
    ...wanted.map((n) => `--filter=@extendkit/${n}`),
  ],
  root,
);

const out = path.join(project, "extendkit-packages");
mkdirSync(out, { recursive: true });
const tarballs = [];
for (const name of wanted) {
  for (const old of readdirSync(out))
    if (old.startsWith(`extendkit-${name}-`) && old.endsWith(".tgz")) rmSync(path.join(out, old));
  const before = new Set(readdirSync(out));
  pnpm(["pack", "--pack-destination", out], path.join(root, "packages", name));
  const tarball = readdirSync(out).find((file) => !before.has(file));
  if (!tarball) fail(`pnpm pack wrote no tarball for @extendkit/${name}`);
  tarballs.push(`./extendkit-packages/${tarball}`);
}
console.log(`npm install ${dev ? "--save-dev " : ""}${tarballs.join(" ")}`);
execFileSync(
  "npm",
  ["install", "--no-audit", "--no-fund", ...(dev ? ["--save-dev"] : []), ...tarballs],
  { cwd: project, stdio: "inherit" },
);
console.log(
  `Installed ${wanted.map((n) => `@extendkit/${n}`).join(", ")} from ${path.relative(project, out) || out}/.`,
);
