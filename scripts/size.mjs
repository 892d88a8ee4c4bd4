#!/usr/bin/env node
// Size budgets of @extendkit/core, measured as users pay them: a consumer's entry bundled
// for the browser (dependencies included), minified, gzipped. Exits 1 over a budget.
// Run after `pnpm build`: it bundles the built package (dist), as a consumer would.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { rolldown } from "rolldown";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// Entries are written inside a workspace package that depends on @extendkit/core, so the
// package resolves through its exports map exactly as it does for users.
const consumer = path.join(root, "bench");

const budgets = [
  {
    name: "client (createClient + openapi-fetch)",
    code: `import { createClient } from "@extendkit/core"; export const client = createClient({ token: "t" });`,
    // "6 kB" read strictly: 6000 bytes, not 6 KiB.
    limit: 6000,
  },
  {
    name: "webhook verifier (verifyWebhook)",
    code: `export { verifyWebhook } from "@extendkit/core/webhooks";`,
    limit: 1500,
  },
  {
    name: "whole main entry (every export)",
    code: `export * from "@extendkit/core";`,
    limit: 9000,
  },
  {
    name: "webhook handler (/handlers createWebhookHandler)",
    code: `export { createWebhookHandler } from "@extendkit/core/handlers";`,
    limit: 2800,
  },
  {
    name: "proxy handler (/handlers createProxyHandler)",
    code: `export { createProxyHandler } from "@extendkit/core/handlers";`,
    // Raised from 2200 for the hardening against hostile upstreams and callers: the spec's
    // route and query table (~0.8 kB), the path resolver, the token scanner and its
    // streaming hold-back, the no-progress timer and the answer checks (~1.5 kB).
    limit: 4500,
  },
  {
    name: "whole /handlers entry",
    code: `export * from "@extendkit/core/handlers";`,
    limit: 6500,
  },
  {
    name: "whole /webhooks entry",
    code: `export * from "@extendkit/core/webhooks";`,
    limit: 2000,
  },
  {
    // Node only: bundled for Node, with Node's built-ins left as imports.
    name: "/node (uploadFileFromPath + client)",
    code: `export { uploadFileFromPath } from "@extendkit/core/node";`,
    limit: 4500,
    platform: "node",
  },
];

const dir = await mkdtemp(path.join(consumer, ".size-"));
let failed = false;
try {
  const rows = [];
  for (const budget of budgets) {
    const entry = path.join(dir, `${rows.length}.js`);
    await writeFile(entry, budget.code);
    const bundle = await rolldown({
      input: entry,
      platform: budget.platform ?? "browser",
      logLevel: "silent",
      resolve: {
        conditionNames: ["import", budget.platform === "node" ? "node" : "browser", "default"],
      },
    });
    const { output } = await bundle.generate({ format: "esm", minify: true });
    await bundle.close();
    const code = output.map((chunk) => (chunk.type === "chunk" ? chunk.code : "")).join("");
    const min = Buffer.byteLength(code);
    const gz = gzipSync(code, { level: 9 }).length;
    const ok = gz <= budget.limit;
    if (!ok) failed = true;
    rows.push([
      budget.name,
      `${min} B`,
      `${gz} B`,
      Number.isFinite(budget.limit) ? `${budget.limit} B` : "-",
      ok ? "ok" : "OVER",
    ]);
  }
  const head = ["bundle", "min", "min+gz", "budget", ""];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [head, ...rows]) console.log(row.map((c, i) => c.padEnd(widths[i])).join("  "));
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (failed) {
  console.error("A bundle is over its size budget.");
  process.exit(1);
}
