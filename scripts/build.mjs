#!/usr/bin/env node
// Builds the package in the working directory with tsdown, from its tsdown.config.ts.
// Every package's `build` script runs this instead of the tsdown CLI, so that the choices
// below are made once (CONTRIBUTING.md, "Quiet builds", says why each is on purpose):
// - tsdown's API, not its CLI: the CLI warns on every run that Node 20 is deprecated. We
//   still support Node 20 and pin tsdown 0.21, the last line that runs on it.
// - checks.legacyCjs off: tsdown recommends ESM only; we ship CommonJS too on purpose.
// - checks.pluginTimings off: a note about time spent in plugins, not a problem.
// - logLevel "warn": no per-file listing; any warning or error still prints.
import { build } from "tsdown";

try {
  await build({ logLevel: "warn", checks: { legacyCjs: false, pluginTimings: false } });
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
}
