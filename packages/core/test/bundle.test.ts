/**
 * The main entry, `/webhooks` and `/handlers` must run on any Web-standard runtime (Edge,
 * Workers, Deno, browsers): this bundles them from `src` (so it does not depend on a build)
 * for the browser and for a neutral platform, checks that no Node built-in is left to
 * import, and runs the bundle in a V8 context that has web globals only.
 */
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { type RolldownLog, rolldown } from "rolldown";
import { describe, expect, test } from "vitest";

const src = (file: string) => fileURLToPath(new URL(`../src/${file}`, import.meta.url));

const PORTABLE_ENTRY = [
  `export { createClient } from ${JSON.stringify(src("index.ts"))};`,
  `export { verifyWebhook, signWebhook } from ${JSON.stringify(src("webhooks/index.ts"))};`,
  `export { createWebhookHandler } from ${JSON.stringify(src("handlers/index.ts"))};`,
].join("\n");

type Platform = "browser" | "neutral";

/** Bundles `entry` (a module's source) with every dependency inlined, as ESM and as an IIFE. */
async function bundle(entry: string, platform: Platform) {
  const logs: RolldownLog[] = [];
  const build = await rolldown({
    input: "\0entry",
    platform,
    resolve: { extensionAlias: { ".js": [".ts", ".js"] } },
    onLog: (_level, log) => {
      logs.push(log);
    },
    plugins: [
      {
        name: "virtual-entry",
        resolveId: (id) => (id === "\0entry" ? id : null),
        load: (id) => (id === "\0entry" ? entry : null),
      },
    ],
  });
  try {
    const esm = (await build.generate({ format: "esm" })).output;
    const iife = (await build.generate({ format: "iife", name: "extendkit" })).output;
    expect(esm).toHaveLength(1);
    expect(iife).toHaveLength(1);
    return { esm: esm[0].code, iife: iife[0].code, logs };
  } finally {
    await build.close();
  }
}

/** Every way a bundle can still depend on a module outside itself, Node's above all. */
function leftoverImports({ esm, iife, logs }: Awaited<ReturnType<typeof bundle>>): string[] {
  const found: string[] = [];
  for (const log of logs) {
    if (log.code === "UNRESOLVED_IMPORT" || log.code === "MISSING_NODE_BUILTINS") {
      found.push(`${log.code}: ${log.message.split("\n")[0]}`);
    }
  }
  // Static and bare imports, re-exports from another module, dynamic imports, require().
  const patterns = [
    /^\s*import\s*(?:[\w*{}\s,$]+from\s*)?["']([^"']+)["']/gm,
    /^\s*export\s*(?:\*|\{[^}]*\})\s*from\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const code of [esm, iife]) {
    for (const pattern of patterns) {
      for (const match of code.matchAll(pattern)) found.push(`import of "${match[1]}"`);
    }
  }
  // An IIFE takes unresolved imports as parameters: `(function(exports, node_fs) {`.
  const iifeHead = /^var extendkit = \(function\(([^)]*)\)/m.exec(iife);
  if (!iifeHead) found.push("the IIFE wrapper was not found");
  else if (iifeHead[1]!.trim() !== "exports") found.push(`IIFE parameters: ${iifeHead[1]}`);
  return found;
}

const WEB_GLOBALS = {
  fetch,
  Request,
  Response,
  Headers,
  URL,
  TextEncoder,
  TextDecoder,
  crypto,
  AbortController,
  AbortSignal,
  setTimeout,
  clearTimeout,
  ReadableStream,
  TransformStream,
  FormData,
  Blob,
  console,
};

/** Runs inside the context, after the bundle: signs, verifies, handles and calls. */
const SCENARIO = `
(async () => {
  const { createClient, verifyWebhook, signWebhook, createWebhookHandler } = extendkit;
  const secret = "wss_test_secret_123";
  const vectorBody = '{"eventId":"event_1234","eventType":"workflow_run.completed","payload":{}}';
  const vector = await signWebhook({ body: vectorBody, secret, timestamp: 1707777128 });

  const body = JSON.stringify({
    eventId: "event_vm",
    eventType: "workflow_run.completed",
    payload: { object: "workflow_run", id: "workflow_run_vm" },
  });
  const headers = await signWebhook({ body, secret, timestamp: 1707777128 });
  const now = () => 1707777128 * 1000;
  const event = await verifyWebhook({ body, headers, secret }, { now });
  const bytesEvent = await verifyWebhook({ body: new TextEncoder().encode(body), headers, secret }, { now });
  let refused = null;
  try {
    await verifyWebhook({ body: body.replace("vm", "vn"), headers, secret }, { now });
  } catch (error) {
    refused = error.name + ":" + error.reason;
  }

  const handled = [];
  const handle = createWebhookHandler({
    secret,
    on: { "workflow_run.completed": (e) => { handled.push(e.payload.id); } },
  });
  const live = await signWebhook({ body, secret });
  const webhookResponse = await handle(
    new Request("https://app.test/webhooks/extend", { method: "POST", body, headers: live }),
  );

  const seen = [];
  const client = createClient({
    token: "sk_vm_test",
    fetch: async (request) => {
      seen.push({
        method: request.method,
        url: request.url,
        authorization: request.headers.get("authorization"),
        version: request.headers.get("x-extend-api-version"),
      });
      return new Response(
        JSON.stringify({ success: true, workflowRun: { object: "workflow_run", id: "workflow_run_vm", status: "PROCESSED" } }),
        { status: 200, headers: { "content-type": "application/json" } },
      );
    },
  });
  const { data, error } = await client.GET("/workflow_runs/{workflowRunId}", {
    params: { path: { workflowRunId: "workflow_run_vm" } },
  });

  return JSON.stringify({
    globals: { process: typeof process, require: typeof require, Buffer: typeof Buffer, module: typeof module },
    vector: vector["x-extend-request-signature"],
    event,
    bytesEventId: bytesEvent.eventId,
    refused,
    webhook: { status: webhookResponse.status, body: await webhookResponse.json(), handled },
    client: { data, error: error ?? null, seen },
  });
})()
`;

describe.each(["browser", "neutral"] as const)("bundled for platform %s", (platform) => {
  test("the main, webhooks and handlers entries import nothing, Node built-ins least of all", async () => {
    const output = await bundle(PORTABLE_ENTRY, platform);

    expect(leftoverImports(output)).toEqual([]);
    expect(output.esm).toMatch(/export \{[^}]*createClient/);
    for (const name of builtinModules) {
      expect(output.esm, name).not.toContain(`node:${name}`);
    }
  });

  test("the bundle runs with web globals only: signs, verifies, handles a webhook and calls the API", async () => {
    const { iife } = await bundle(PORTABLE_ENTRY, platform);
    const context = vm.createContext({ ...WEB_GLOBALS });
    vm.runInContext(iife, context, { filename: `extendkit.${platform}.js` });

    const result = JSON.parse(await vm.runInContext(SCENARIO, context));

    expect(result.globals).toEqual({
      process: "undefined",
      require: "undefined",
      Buffer: "undefined",
      module: "undefined",
    });
    expect(result.vector).toBe("30b75af966d6c259eca3b4a852834c5b0046193354f4f3ce7a7fa938bc6602a5");
    expect(result.event).toEqual({
      eventId: "event_vm",
      eventType: "workflow_run.completed",
      payload: { object: "workflow_run", id: "workflow_run_vm" },
    });
    expect(result.bytesEventId).toBe("event_vm");
    expect(result.refused).toBe("WebhookSignatureError:mismatch");
    expect(result.webhook).toEqual({
      status: 200,
      body: { received: true },
      handled: ["workflow_run_vm"],
    });
    expect(result.client).toEqual({
      data: {
        success: true,
        workflowRun: { object: "workflow_run", id: "workflow_run_vm", status: "PROCESSED" },
      },
      error: null,
      seen: [
        {
          method: "GET",
          url: "https://api.extend.ai/workflow_runs/workflow_run_vm",
          authorization: "Bearer sk_vm_test",
          version: "2025-04-21",
        },
      ],
    });
  });

  test("the check catches a Node import (src/node.ts)", async () => {
    const output = await bundle(`export * from ${JSON.stringify(src("node.ts"))};`, platform);

    const found = leftoverImports(output);

    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"node:fs"'),
        expect.stringContaining('"node:path"'),
      ]),
    );
  });

  test("the check catches a bare built-in and a require()", async () => {
    const output = await bundle(
      'import { createHash } from "crypto";\nexport const h = () => createHash("sha256");\nexport const r = () => require("buffer");',
      platform,
    );

    const found = leftoverImports(output);

    expect(found.some((f) => f.includes('"crypto"'))).toBe(true);
    expect(found.some((f) => f.includes('"buffer"'))).toBe(true);
  });
});
