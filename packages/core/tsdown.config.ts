import { defineConfig } from "tsdown";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    webhooks: "src/webhooks/index.ts",
    handlers: "src/handlers/index.ts",
    node: "src/node.ts",
  },
  format: ["esm", "cjs"],
  platform: "neutral",
  // The /node entry imports Node's built-ins; they stay imports on every platform.
  deps: { neverBundle: [/^node:/] },
  dts: true,
  sourcemap: true,
  clean: true,
});
