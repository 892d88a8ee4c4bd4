import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/run.ts", "src/batch-worker.ts"],
  format: ["esm"],
  platform: "node",
  fixedExtension: false,
  dts: false,
  clean: true,
});
