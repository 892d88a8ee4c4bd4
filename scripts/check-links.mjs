#!/usr/bin/env node
// Checks that every relative link in the repository's Markdown (READMEs, guides,
// CONTRIBUTING, BENCHMARKS) points at a file or folder that exists. Exits 1 otherwise.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SKIP = new Set(["node_modules", ".git", "dist", ".next", ".turbo", ".pack", "api"]);

function* markdown(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* markdown(full);
    else if (entry.name.endsWith(".md") && !entry.name.startsWith("CHANGELOG")) yield full;
  }
}

const broken = [];
let count = 0;
for (const file of markdown(root)) {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^(https?:|mailto:|#)/.test(target)) continue;
    count++;
    const resolved = path.resolve(path.dirname(file), decodeURI(target.split("#")[0]));
    if (!existsSync(resolved) || (target.endsWith("/") && !statSync(resolved).isDirectory()))
      broken.push(`${path.relative(root, file)}: ${target}`);
  }
}
if (broken.length) {
  console.error(`Broken relative links:\n  ${broken.join("\n  ")}`);
  process.exit(1);
}
console.log(`${count} relative links in Markdown, all resolve.`);
