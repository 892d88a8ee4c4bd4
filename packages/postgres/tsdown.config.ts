import { defineConfig } from "tsdown";

export default defineConfig({
  entry: { index: "src/index.ts", batch: "src/batch/index.ts" },
  format: ["esm", "cjs"],
  platform: "node",
  fixedExtension: false,
  dts: true,
  sourcemap: true,
  clean: true,
});
