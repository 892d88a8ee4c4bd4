import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/run.ts", "src/batch-worker.ts"],
  format: ["esm"],
  platform: "node",
  // The benchmarks bundle the clients they compare on purpose; no hint listing them.
  deps: { onlyBundle: false },
  fixedExtension: false,
  dts: false,
  clean: true,
});
