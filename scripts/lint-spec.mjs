#!/usr/bin/env node
// `pnpm lint:spec`: Redocly's lint of the spec, with its output passed through except for
// one notice. Redocly CLI 2.x prints a boxed "Node.js 20 support is ending" banner on
// every run under Node 20, and no setting turns it off. Node 20 is a version we test on
// purpose (CONTRIBUTING.md, "Quiet builds"), so the box is dropped; every other line, and
// the exit code, are Redocly's own.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = createRequire(path.join(root, "package.json")).resolve("@redocly/cli/bin/cli.js");
const result = spawnSync(
  process.execPath,
  [cli, "lint", "openapi/extend.openapi.yaml", "--config", "openapi/redocly.yaml"],
  {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  },
);

/** Drops a box drawn with ╔…╝ whose text mentions Node.js 20; keeps everything else. */
function withoutNodeBanner(text) {
  return text.replace(/[ \t]*╔[\s\S]*?╚═*╝[ \t]*\n?/g, (box) =>
    /Node\.js 20/.test(box) ? "" : box,
  );
}

process.stdout.write(withoutNodeBanner(result.stdout ?? "").replace(/^\n+/, ""));
process.stderr.write(withoutNodeBanner(result.stderr ?? "").replace(/^\n+/, ""));
if (result.error) throw result.error;
process.exit(result.status ?? 1);
