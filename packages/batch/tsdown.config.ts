import { defineConfig } from "tsdown";

export default defineConfig([
  {
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    platform: "node",
    fixedExtension: false,
    dts: true,
    sourcemap: true,
    clean: true,
  },
  {
    // The CLI is an ESM script with a shebang; it imports nothing public, so no types.
    entry: ["src/cli.ts"],
    format: ["esm"],
    platform: "node",
    fixedExtension: false,
    dts: false,
    sourcemap: true,
    clean: false,
  },
]);
