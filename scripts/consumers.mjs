#!/usr/bin/env node
// Installs the packed tarballs (.pack/, from scripts/pack.mjs) into fresh projects outside
// the workspace, as users get them from the registry, and runs a script in each against
// the emulator:
//   esm-node16   TypeScript, "type": "module", moduleResolution node16, no DOM lib
//   esm-bundler  TypeScript, moduleResolution bundler, DOM lib
//   cjs          JavaScript, CommonJS, require()
// The TypeScript projects are also typechecked with the lowest TypeScript we support,
// with skipLibCheck off, so the emitted .d.ts files are checked too. `--keep` keeps the
// projects (their folder is printed) for a closer look.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The lowest TypeScript version the packages' types are checked with. */
export const MIN_TYPESCRIPT = "5.4.5";
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const packDir = path.join(root, ".pack");
const tarballs = readdirSync(packDir).filter((f) => f.endsWith(".tgz"));
if (tarballs.length === 0) throw new Error("No tarballs in .pack/: run scripts/pack.mjs first.");
const nameOf = (file) => `@extendkit/${/^extendkit-(\w+)-\d/.exec(file)?.[1]}`;

const dir = mkdtempSync(path.join(os.tmpdir(), "extendkit-consumers-"));
const json = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const dependencies = Object.fromEntries(
  tarballs.map((file) => [nameOf(file), `file:${path.join(packDir, file)}`]),
);
json(path.join(dir, "package.json"), {
  private: true,
  dependencies,
  devDependencies: {
    typescript: "5.9.3",
    "typescript-min": `npm:typescript@${MIN_TYPESCRIPT}`,
    "@types/node": "20.19.43",
  },
  // The packages depend on each other at their (unpublished) version: use the tarballs.
  overrides: Object.fromEntries(Object.keys(dependencies).map((name) => [name, `$${name}`])),
});

const rows = [];
const time = (fn) => {
  const start = performance.now();
  const result = fn();
  return [result, `${((performance.now() - start) / 1000).toFixed(1)} s`];
};
let failed = false;
try {
  // Peers (express, next) are left out: the smoke scripts do not import them.
  const [, installTime] = time(() =>
    run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--legacy-peer-deps",
        "--ignore-scripts",
        "--loglevel=error",
      ],
      dir,
    ),
  );
  console.log(`npm install of ${tarballs.length} tarballs into ${dir}: ${installTime}`);
  const tsc = (pkg) => path.join(dir, "node_modules", pkg, "bin", "tsc");
  const compilerOptions = {
    target: "ES2022",
    strict: true,
    skipLibCheck: false,
    types: ["node"],
    outDir: "dist",
    rootDir: ".",
  };
  const projects = [
    {
      name: "esm-node16",
      type: "module",
      compilerOptions: {
        ...compilerOptions,
        module: "Node16",
        moduleResolution: "Node16",
        lib: ["ES2022"],
      },
      main: "dist/smoke.js",
    },
    {
      name: "esm-bundler",
      type: "module",
      compilerOptions: {
        ...compilerOptions,
        module: "ESNext",
        moduleResolution: "Bundler",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
      },
      main: "dist/smoke.js",
    },
    { name: "cjs", type: "commonjs", main: "smoke.cjs" },
  ];
  for (const project of projects) {
    const cwd = path.join(dir, project.name);
    mkdirSync(cwd);
    json(path.join(cwd, "package.json"), { private: true, type: project.type });
    const row = { project: project.name, typecheck: "-", [`TS ${MIN_TYPESCRIPT}`]: "-", run: "" };
    try {
      if (project.compilerOptions) {
        for (const file of ["smoke.ts", "batch-step.ts", "dedupe-stores.ts"])
          cpSync(path.join(here, "consumers", file), path.join(cwd, file));
        json(path.join(cwd, "tsconfig.json"), {
          compilerOptions: project.compilerOptions,
          include: ["*.ts"],
        });
        row[`TS ${MIN_TYPESCRIPT}`] = "failed";
        run(process.execPath, [tsc("typescript-min"), "-p", ".", "--noEmit"], cwd);
        row[`TS ${MIN_TYPESCRIPT}`] = "ok";
        row.typecheck = "failed";
        run(process.execPath, [tsc("typescript"), "-p", "."], cwd);
        row.typecheck = "ok (5.9.3)";
      } else {
        cpSync(path.join(here, "consumers", "smoke.cjs"), path.join(cwd, "smoke.cjs"));
      }
      const [output, took] = time(() => run(process.execPath, [project.main], cwd));
      row.run = `${output.trim()} (${took})`;
    } catch (error) {
      failed = true;
      row.run ||= "failed";
      console.error(`\n${project.name}:\n${error.stdout ?? ""}${error.stderr ?? error.message}`);
    }
    rows.push(row);
  }
} finally {
  if (!process.argv.includes("--keep")) rmSync(dir, { recursive: true, force: true });
}
const header = Object.keys(rows[0] ?? {});
const widths = header.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)));
for (const cells of [header, ...rows.map((r) => header.map((h) => r[h]))])
  console.log(cells.map((c, i) => String(c).padEnd(widths[i])).join("  "));
console.log(failed ? "\nConsumer projects failed." : "\nAll consumer projects typecheck and run.");
process.exit(failed ? 1 : 0);
