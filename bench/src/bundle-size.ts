import { mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { rolldown } from "rolldown";
import type { Row } from "./types.js";

const here = path.dirname(fileURLToPath(import.meta.url));

type Measured = { min: number; gz: number } | { error: string };

/** An entry's bundle, dependencies included, minified and gzipped, or why it does not bundle. */
async function measure(
  code: string,
  platform: "browser" | "node",
  dir: string,
  name: string,
): Promise<Measured> {
  const entry = path.join(dir, `${name}.js`);
  await writeFile(entry, code);
  try {
    const bundle = await rolldown({ input: entry, platform, logLevel: "silent" });
    const { output } = await bundle.generate({ format: "esm", minify: true });
    await bundle.close();
    const js = output.map((chunk) => (chunk.type === "chunk" ? chunk.code : "")).join("");
    return { min: Buffer.byteLength(js), gz: gzipSync(js, { level: 9 }).length };
  } catch (error) {
    return { error: (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "" };
  }
}

const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;

/**
 * What a user's bundle pays for a client: the same one-line entry per library, bundled the
 * way a browser or Edge app would be (and for Node where the browser build fails).
 */
export async function bundleSize(): Promise<Row[]> {
  // Inside the bench package, so the libraries resolve through their exports maps.
  const dir = await mkdtemp(path.join(here, "..", ".bundle-"));
  try {
    const entries = [
      [
        "@extendkit/core",
        `import { createClient } from "@extendkit/core"; export const c = createClient({ token: "t" });`,
      ],
      [
        "openapi-fetch",
        `import createClient from "openapi-fetch"; export const c = createClient({ baseUrl: "https://api.extend.ai" });`,
      ],
      [
        "extend-ai@0.0.12",
        `import { ExtendClient } from "extend-ai"; export const c = new ExtendClient({ token: "t" });`,
      ],
    ] as const;
    const sizes: Array<{ name: string; browser: Measured; node: Measured | undefined }> = [];
    for (const [name, code] of entries) {
      const browser = await measure(code, "browser", dir, `${sizes.length}b`);
      const node =
        "error" in browser ? await measure(code, "node", dir, `${sizes.length}n`) : undefined;
      sizes.push({ name, browser, node });
    }
    const ours = sizes[0]?.browser;
    const method =
      "a one-line entry creating each client, bundled by rolldown with its dependencies (browser platform; Node where that fails), minified, gzip -9";
    return sizes.map(({ name, browser, node }) => {
      const size = "gz" in browser ? browser : node && "gz" in node ? node : undefined;
      const where =
        "gz" in browser
          ? "browser"
          : `node; browser fails: ${"error" in browser ? browser.error : ""}`;
      return {
        benchmark: `bundle: ${name} client`,
        result: size ? `${kB(size.gz)} min+gz (${kB(size.min)} min)` : "does not bundle",
        against:
          name === "@extendkit/core"
            ? "target ≤ 6 kB min+gz"
            : ours && "gz" in ours && size
              ? `@extendkit/core is ×${(ours.gz / size.gz).toFixed(2)} of it (${where})`
              : where,
        verdict:
          name === "@extendkit/core" ? (size && size.gz <= 6000 ? "meets" : "misses") : "info",
        method,
      };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
