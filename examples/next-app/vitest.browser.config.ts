import { defineConfig } from "vitest/config";

// The end-to-end test in headless Chromium: `pnpm --filter @example/next-app test:browser`.
export default defineConfig({
  test: {
    include: ["test/**/*.browser.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
