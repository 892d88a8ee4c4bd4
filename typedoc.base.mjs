// Shared TypeDoc options of every package (each package's typedoc.json extends this file).
import { OptionDefaults } from "typedoc";

/** @type {Partial<import("typedoc").TypeDocOptions>} */
export default {
  // openapi-typescript writes these tags into the generated types.
  blockTags: [...OptionDefaults.blockTags, "@description", "@enum", "@constant"],
  excludeExternals: true,
  // Types are checked by `pnpm typecheck`; the docs build should not fail on test files.
  skipErrorChecking: true,
  readme: "none",
  // No public repository URL yet: source links would point nowhere.
  disableSources: true,
};
