import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // test/*.test-d.ts (type tests) are checked by `pnpm typecheck`, whose tsconfig takes in
    // test/: a failing expectTypeOf or an unused @ts-expect-error fails tsc there. Vitest's
    // own typecheck mode would run tsc a second time and print an "experimental" notice.
    include: ["test/**/*.test.ts"],
  },
});
