import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/main.ts"],
  format: ["esm"],
  platform: "node",
  fixedExtension: false,
  dts: false,
  clean: true,
});
