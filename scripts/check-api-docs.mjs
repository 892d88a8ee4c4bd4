#!/usr/bin/env node
// Checks the API reference of the published packages (the entries of the root typedoc.json).
//
// 1. Documentation: converts the packages with TypeDoc (root typedoc.json, same options as
//    `pnpm docs:api`; JSON into a temp dir, no HTML), then checks every export of every entry
//    point: it has a non-empty summary, and functions, classes and `*Options` interfaces and
//    type aliases have an `@example` with a ```ts block.
// 2. Examples: every ```ts block of every `@example` in those exports (members included) and
//    in the entry points' own comments is type-checked, all in one TypeScript program, with
//    the strict options of tsconfig.base.json. `@extendkit/*` resolves to the packages' src
//    entry files; other imports resolve from the package's own node_modules. Each example is
//    a module. Names it uses without declaring them get a small prelude, appended (so line
//    numbers hold): an import of the package's own export of that name, else a typed
//    `declare const` when the name is one of the few in FREE_NAMES that examples leave to the
//    reader (`extend`, `secret`, `request`...). That is stricter than ignoring "Cannot find
//    name" (TS2304/TS2552): any other free name fails, and prelude names are type-checked
//    where they are used. Every diagnostic fails the check.
//
// Re-exports of another package's declarations (e.g. @extendkit/next re-exporting from
// @extendkit/core/handlers) are documented from that package's dist/*.d.ts: build first.
// Exits 1 on any gap or diagnostic, listing them.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  Application,
  PackageJsonReader,
  ReflectionKind,
  TSConfigReader,
  TypeDocReader,
} from "typedoc";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const started = performance.now();

/** Names examples leave to the reader (a client, an id, a request...), with their types. */
const FREE_NAMES = {
  extend: 'import("@extendkit/core").ExtendClient',
  run: 'import("@extendkit/core").WorkflowRun',
  event: 'import("@extendkit/core/webhooks").WebhookDelivery',
  job: 'import("@extendkit/batch").BatchJob',
  inputs: 'import("@extendkit/batch").BatchInput[]',
  app: 'import("express").Express',
  req: 'import("node:http").IncomingMessage',
  res: 'import("node:http").ServerResponse',
  request: "Request",
  handler: "(request: Request) => Promise<Response>",
  save: "(...data: unknown[]) => Promise<void>",
  error: "unknown",
  ...Object.fromEntries(
    [
      ...["secret", "token", "baseUrl", "body", "rawBody"],
      ...["workflowId", "runId", "batchId", "fileId", "editRunId", "evaluationSetId"],
    ].map((name) => [name, "string"]),
  ),
};

const KIND = ReflectionKind;
/** Kinds that are values, imported without `type` (verbatimModuleSyntax). */
const VALUE_KINDS = new Set([KIND.Namespace, KIND.Enum, KIND.Variable, KIND.Function, KIND.Class]);
const kindName = (kind) => KIND[kind] ?? `kind ${kind}`;

// ---------------------------------------------------------------------------------------
// Packages and entry points

const rootConfig = JSON.parse(await readFile(path.join(root, "typedoc.json"), "utf8"));
/** Each published package: name, directory, and import specifier -> src entry file. */
const packages = [];
for (const dir of rootConfig.entryPoints) {
  const pkgDir = path.join(root, dir);
  const manifest = JSON.parse(await readFile(path.join(pkgDir, "package.json"), "utf8"));
  const config = JSON.parse(await readFile(path.join(pkgDir, "typedoc.json"), "utf8"));
  const entries = new Map();
  for (const file of config.entryPoints) {
    const subpath = file
      .replace(/^src\//, "")
      .replace(/\.ts$/, "")
      .replace(/(^|\/)index$/, "");
    entries.set(subpath ? `${manifest.name}/${subpath}` : manifest.name, path.join(pkgDir, file));
  }
  // Every subpath the package exports must be documented, and nothing else.
  const exported = Object.keys(manifest.exports ?? { ".": null })
    .filter((key) => key !== "./package.json")
    .map((key) => (key === "." ? manifest.name : `${manifest.name}/${key.slice(2)}`));
  const documented = [...entries.keys()];
  if (exported.sort().join() !== documented.sort().join()) {
    fail(
      `${manifest.name}: package.json exports ${exported} but typedoc.json documents ${documented}`,
    );
  }
  const generated = new Set();
  const generatedDir = path.join(pkgDir, "src/generated");
  for (const file of await readdir(generatedDir).catch(() => [])) {
    if (!file.endsWith(".ts")) continue;
    const code = await readFile(path.join(generatedDir, file), "utf8");
    for (const m of code.matchAll(/^export (?:interface|type|const|function) (\w+)/gm)) {
      generated.add(m[1]);
    }
  }
  packages.push({ name: manifest.name, dir: pkgDir, entries, generated, exportsBySpec: new Map() });
}

function fail(message) {
  console.error(`check-api-docs: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------
// 1. TypeDoc JSON

/** Converts the packages as `pnpm docs:api` does, and returns TypeDoc's JSON (or undefined). */
async function typedocJson() {
  const cwd = process.cwd();
  process.chdir(root);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "check-api-docs-"));
  try {
    const app = await Application.bootstrapWithPlugins(
      { options: path.join(root, "typedoc.json"), logLevel: "Warn" },
      [new TypeDocReader(), new PackageJsonReader(), new TSConfigReader()],
    );
    const project = await app.convert();
    if (!project || app.logger.hasErrors() || app.logger.hasWarnings()) return undefined;
    const out = path.join(tmp, "api.json");
    await app.generateJson(project, out);
    return JSON.parse(await readFile(out, "utf8"));
  } finally {
    process.chdir(cwd);
    await rm(tmp, { recursive: true, force: true });
  }
}

const project = await typedocJson();
if (!project) fail("TypeDoc reported problems (above); `pnpm docs:api` shows them too");
const typedocDone = performance.now();

const byId = new Map();
(function index(reflection) {
  byId.set(reflection.id, reflection);
  for (const child of reflection.children ?? []) index(child);
})(project);

const text = (parts) =>
  (parts ?? [])
    .map((part) => part.text)
    .join("")
    .trim();

/** Whether a reflection has a summary: its own, or one on each of its signatures. */
function hasSummary(r) {
  if (text(r.comment?.summary)) return true;
  const signatures = r.signatures ?? r.type?.declaration?.signatures ?? [];
  return signatures.length > 0 && signatures.every((s) => text(s.comment?.summary));
}

/** The comments that document a reflection: its own and its (call) signatures'. */
const commentsOf = (r) =>
  [
    r.comment,
    ...(r.signatures ?? []).map((s) => s.comment),
    ...(r.type?.declaration?.signatures ?? []).map((s) => s.comment),
  ].filter(Boolean);

const TS_FENCE = /^```(?:ts|typescript)\n([\s\S]*?)\n?```$/;

/** The ```ts blocks of the `@example` tags of these comments. */
const examplesIn = (comments) =>
  comments.flatMap((c) =>
    (c.blockTags ?? [])
      .filter((tag) => tag.tag === "@example")
      .flatMap((tag) => tag.content)
      .filter((part) => part.kind === "code")
      .map((part) => TS_FENCE.exec(part.text)?.[1])
      .filter((code) => code !== undefined),
  );

/** Every comment anywhere in a reflection's JSON (members, signatures, parameters...). */
function allComments(node, out = []) {
  if (Array.isArray(node)) for (const item of node) allComments(item, out);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "comment") out.push(value);
      else allComments(value, out);
    }
  }
  return out;
}

const needsExample = (r) =>
  r.kind === KIND.Function ||
  r.kind === KIND.Class ||
  ((r.kind === KIND.Interface || r.kind === KIND.TypeAlias) && r.name.endsWith("Options"));

const rows = [];
const gaps = [];
/** Examples to type-check: package, label, code. */
const examples = [];

for (const pkg of packages) {
  const pkgReflection = project.children.find((c) => c.name === pkg.name);
  if (!pkgReflection) fail(`${pkg.name} is missing from TypeDoc's output`);
  const modules = (pkgReflection.children ?? []).filter((c) => c.kind === KIND.Module);
  const entryReflections = modules.length > 0 ? modules : [pkgReflection];
  const row = { name: pkg.name, exports: 0, noSummary: 0, noExample: 0, examples: 0 };
  const seen = new Set();
  const addExamples = (label, codes) => {
    for (const code of codes) {
      if (seen.has(code)) continue;
      seen.add(code);
      examples.push({ pkg, label, code });
      row.examples++;
    }
  };
  for (const entry of entryReflections) {
    const spec =
      entry === pkgReflection || entry.name === "index" ? pkg.name : `${pkg.name}/${entry.name}`;
    if (!pkg.entries.has(spec)) fail(`TypeDoc module ${spec} matches no entry point`);
    addExamples(`${spec} (entry point)`, examplesIn(entry.comment ? [entry.comment] : []));
    pkg.exportsBySpec.set(spec, []);
    // Namespaces count as exports, and so do their members.
    const visit = (exported, prefix) => {
      for (const child of exported.children ?? []) {
        let r = child;
        while (r.kind === KIND.Reference && byId.has(r.target)) r = byId.get(r.target);
        const label = `${spec} ${prefix}${child.name}`;
        if (!prefix)
          pkg.exportsBySpec.get(spec).push({ name: child.name, value: VALUE_KINDS.has(r.kind) });
        const comments = commentsOf(r);
        row.exports++;
        if (!hasSummary(r)) {
          row.noSummary++;
          gaps.push(`${label} (${kindName(r.kind)}): no summary`);
        }
        if (needsExample(r) && examplesIn(comments).length === 0) {
          row.noExample++;
          gaps.push(`${label} (${kindName(r.kind)}): no @example with a \`\`\`ts block`);
        }
        if (r.kind === KIND.Namespace || r.kind === KIND.Module) {
          visit(r, `${prefix}${child.name}.`);
        } else {
          // openapi-typescript copies the spec's `example` values into `@example` tags of the
          // generated types' members: spec data, not TypeScript, so only their own are checked.
          const generated = pkg.generated.has(r.name);
          addExamples(label, examplesIn(generated ? comments : allComments(r)));
        }
      }
    };
    visit(entry, "");
  }
  rows.push(row);
}

// ---------------------------------------------------------------------------------------
// 2. Type-check the examples in one program

/** Top-level names an example declares or imports. */
function declaredNames(source) {
  const names = new Set();
  const bind = (name) => {
    if (!name) return;
    if (ts.isIdentifier(name)) names.add(name.text);
    else
      for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      bind(clause?.name);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) bind(bindings.name);
      else for (const element of bindings?.elements ?? []) bind(element.name);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if ("name" in statement && statement.name && ts.isIdentifier(statement.name)) {
      bind(statement.name);
    }
  }
  return names;
}

const examplePaths = new Map();
const files = new Map();
for (const [i, example] of examples.entries()) {
  // Inside the package (in memory only), so its dependencies resolve as they do for its code.
  const file = path.join(example.pkg.dir, ".api-examples", `example-${i}.ts`);
  const source = ts.createSourceFile(file, example.code, ts.ScriptTarget.ES2022, true);
  const declared = declaredNames(source);
  const identifiers = new Set();
  (function collect(node) {
    if (ts.isIdentifier(node)) identifiers.add(node.text);
    ts.forEachChild(node, collect);
  })(source);
  const uses = (name) => identifiers.has(name) && !declared.has(name);
  // Appended, so that the example's line numbers are the file's.
  const prelude = [];
  for (const [spec, names] of example.pkg.exportsBySpec) {
    const imported = names.filter((e) => uses(e.name));
    for (const e of imported) declared.add(e.name);
    if (imported.length === 0) continue;
    const list = imported.map((e) => (e.value ? e.name : `type ${e.name}`)).join(", ");
    prelude.push(`import { ${list} } from "${spec}";`);
  }
  for (const [name, type] of Object.entries(FREE_NAMES)) {
    if (uses(name)) prelude.push(`declare const ${name}: ${type};`);
  }
  files.set(file, `${example.code}\n${prelude.join("\n")}\nexport {};\n`);
  examplePaths.set(file, example);
}

const paths = {};
for (const pkg of packages) {
  for (const [spec, file] of pkg.entries) paths[spec] = [file];
}
const { options, errors } = ts.parseJsonConfigFileContent(
  {
    extends: "./tsconfig.base.json",
    compilerOptions: {
      lib: ["ES2022", "DOM", "DOM.Iterable"],
      types: ["node"],
      typeRoots: [path.join(root, "node_modules/@types")],
      paths,
      noEmit: true,
    },
    files: [],
  },
  ts.sys,
  root,
);
if (errors.length > 0) {
  fail(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n"));
}

const host = ts.createCompilerHost(options, true);
const { fileExists, readFile: hostReadFile, getSourceFile } = host;
host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
host.readFile = (f) => files.get(f) ?? hostReadFile.call(host, f);
host.getSourceFile = (f, languageVersion, ...rest) =>
  files.has(f)
    ? ts.createSourceFile(f, files.get(f), languageVersion, true)
    : getSourceFile.call(host, f, languageVersion, ...rest);

const program = ts.createProgram([...files.keys()], options, host);
const problems = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map((d) =>
  ts.flattenDiagnosticMessageText(d.messageText, "\n"),
);

/** Where an example is written: "file:line" of its first code line, if found. */
const sourceLines = new Map();
async function locate(code) {
  if (sourceLines.size === 0) {
    for (const pkg of packages) {
      for (const entry of await readdir(path.join(pkg.dir, "src"), { recursive: true })) {
        if (!entry.endsWith(".ts") || entry.includes("generated")) continue;
        const file = path.join(pkg.dir, "src", entry);
        const lines = (await readFile(file, "utf8"))
          .split("\n")
          .map((l) => l.replace(/^\s*\/?\*+ ?/, ""));
        sourceLines.set(path.relative(root, file), lines);
      }
    }
  }
  const want = code.split("\n");
  for (const [file, lines] of sourceLines) {
    for (let i = 0; i < lines.length; i++) {
      // After the opening fence, or right after the tag when TypeDoc adds the fence.
      const opens = lines[i].startsWith("```") || lines[i].startsWith("@example");
      if (opens && want.every((l, j) => lines[i + 1 + j] === l)) {
        return { file, line: i + 2 };
      }
    }
  }
  return undefined;
}

const diagnosticsByExample = new Map();
for (const [file, example] of examplePaths) {
  const sf = program.getSourceFile(file);
  const diagnostics = [
    ...program.getSyntacticDiagnostics(sf),
    ...program.getSemanticDiagnostics(sf),
  ];
  if (diagnostics.length > 0) diagnosticsByExample.set(example, diagnostics);
}
for (const [example, diagnostics] of diagnosticsByExample) {
  const at = await locate(example.code);
  for (const d of diagnostics) {
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const where = at ? `${at.file}:${at.line + line}` : `example line ${line + 1}`;
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
    problems.push(`${example.label}, ${where}: TS${d.code} ${message}`);
  }
}

// ---------------------------------------------------------------------------------------
// Report

const total = { name: "total", exports: 0, noSummary: 0, noExample: 0, examples: 0 };
for (const row of rows)
  for (const key of Object.keys(row)) if (key !== "name") total[key] += row[key];
const header = ["package", "exports", "missing summary", "missing @example", "ts examples"];
const table = [...rows, total].map((r) => [
  r.name,
  r.exports,
  r.noSummary,
  r.noExample,
  r.examples,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => String(r[i]).length)));
const line = (cells) =>
  cells
    .map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
    .join("  ");
console.log(line(header));
for (const r of table) console.log(line(r));
const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
console.log(
  `\n${examples.length} examples type-checked, ${problems.length} diagnostics ` +
    `(TypeDoc ${seconds(typedocDone - started)}, TypeScript ${seconds(performance.now() - typedocDone)})`,
);

if (gaps.length > 0) {
  console.error(`\nExports lacking documentation (${gaps.length}):`);
  for (const gap of gaps) console.error(`  ${gap}`);
}
if (problems.length > 0) {
  console.error(`\nExamples that do not type-check (${problems.length} diagnostics):`);
  for (const problem of problems) console.error(`  ${problem}`);
}
if (gaps.length > 0 || problems.length > 0) process.exit(1);
console.log("API docs OK");
