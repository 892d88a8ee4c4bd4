import { type ChildProcess, spawn } from "node:child_process";
import { cp, mkdir, realpath, rm, symlink } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  CONTRACT_TOKEN,
  type HostileProxyOptions,
  hostileContract,
  signedDelivery,
} from "@extendkit/adapter-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The built package in a real Next.js app (test/next-fixture: basePath "/shop", a proxy and
// a webhook route on each runtime), built with `next build` and served by `next start`, on
// each Next.js major of the peer range, one after the other. Next 16 builds the fixture in
// place; another major builds a copy whose node_modules/next is that version, so the
// compiled routes load its runtime and not the one installed as `next`.
// The Extend API is a loopback server that records what the proxy sends it.
const fixture = fileURLToPath(new URL("./next-fixture/", import.meta.url));
const require = createRequire(import.meta.url);
const NEXTS = [
  ["Next.js 16", "next"],
  ["Next.js 15", "next15"],
] as const;
const TOKEN = "tok_fixture_server_key";
const SECRET = "wss_contract_secret";

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  cookie: string | undefined;
  contentType: string | undefined;
  body: string;
}

let api: Server;
const seen: Seen[] = [];
let next: ChildProcess | undefined;
let appUrl = "";
let log = "";
let cwd = fixture;

function run(nextBin: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [nextBin, ...args], {
    cwd,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk) => (log += chunk));
  child.stderr?.on("data", (chunk) => (log += chunk));
  return child;
}

beforeAll(async () => {
  api = createServer((req, res) => {
    let body = "";
    req.setEncoding("latin1");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        cookie: req.headers.cookie,
        contentType: req.headers["content-type"],
        body,
      });
      res.setHeader("content-type", "application/json");
      res.setHeader("set-cookie", "upstream=1");
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
});

afterAll(() => {
  api?.closeAllConnections();
  api?.close();
});

/** The fixture, or beside it a copy whose `next` is the given package (an npm alias). */
async function fixtureFor(nextPackage: string): Promise<string> {
  if (nextPackage === "next") return fixture;
  const dir = fileURLToPath(new URL(`./.fixture-${nextPackage}/`, import.meta.url));
  await rm(dir, { recursive: true, force: true });
  for (const part of ["app", "hostile-route.js", "next.config.mjs", "package.json"])
    await cp(path.join(fixture, part), path.join(dir, part), { recursive: true });
  await mkdir(path.join(dir, "node_modules"));
  const installed = path.dirname(require.resolve(`${nextPackage}/package.json`));
  await symlink(await realpath(installed), path.join(dir, "node_modules", "next"), "dir");
  return dir;
}

/** Builds the fixture with this Next.js and serves it with `next start` on a free port. */
async function buildAndStart(nextPackage: string): Promise<void> {
  log = "";
  appUrl = "";
  cwd = await fixtureFor(nextPackage);
  await rm(path.join(cwd, ".next"), { recursive: true, force: true });
  const nextBin =
    cwd === fixture
      ? require.resolve("next/dist/bin/next")
      : path.join(cwd, "node_modules", "next", "dist", "bin", "next");
  const build = run(nextBin, ["build"]);
  const code = await new Promise((resolve) => build.once("exit", resolve));
  if (code !== 0) throw new Error(`next build failed:\n${log}`);

  // `next start` on port 0 picks a free port and prints it.
  const child = run(nextBin, ["start", "-p", "0", "-H", "127.0.0.1"], {
    // The hostile contract forces garbage collections in the server (app/hostile/gc).
    NODE_OPTIONS: "--expose-gc",
    EXTEND_CONTRACT_API_KEY: CONTRACT_TOKEN,
    EXTEND_API_KEY: TOKEN,
    EXTEND_BASE_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    EXTEND_WEBHOOK_SECRET: SECRET,
  });
  next = child;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  for (let i = 0; i < 600 && !appUrl; i++) {
    const ready = /http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
    if (ready && /Ready/.test(log)) appUrl = `http://127.0.0.1:${ready[1]}`;
    else if (await Promise.race([exited.then(() => true), sleep(100).then(() => false)]))
      throw new Error(`next start exited:\n${log}`);
  }
  if (!appUrl) throw new Error(`next start did not become ready:\n${log}`);
}

async function stop() {
  const child = next;
  next = undefined;
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function call(path: string, init?: RequestInit) {
  seen.length = 0;
  const response = await fetch(`${appUrl}${path}`, init);
  const text = await response.text();
  expect(text).not.toContain(TOKEN);
  for (const [, value] of response.headers) expect(value).not.toContain(TOKEN);
  return { status: response.status, headers: response.headers, text };
}

/** Proxy options as the fixture's hostile routes take them: base64url JSON, token left out. */
function encodeOptions({ token: _token, ...options }: HostileProxyOptions): string {
  return Buffer.from(JSON.stringify(options)).toString("base64url");
}

describe.each(NEXTS)("%s", (name, nextPackage) => {
  beforeAll(() => buildAndStart(nextPackage), 240_000);
  afterAll(stop);

  for (const runtime of ["node", "edge"]) {
    hostileContract(`next start (${name}), ${runtime} runtime`, {
      proxy: async (options) => ({
        url: `${appUrl}/shop/hostile/${runtime}/${encodeOptions(options)}/api/extend`,
        close: async () => {},
      }),
      webhook: async () => ({ url: `${appUrl}/shop/webhooks/${runtime}`, close: async () => {} }),
      gc: async () => {
        const response = await fetch(`${appUrl}/shop/hostile/gc`);
        expect(response.status, await response.text()).toBe(200);
      },
      // Next's Edge sandbox holds the answer until the request body ends (see HostileTarget).
      answersBeforeBodyEnds: runtime === "node",
    });
  }

  describe.each(["node", "edge"])("next start, %s runtime, basePath /shop", (runtime) => {
    const proxy = `/shop/api/${runtime}`;

    it("proxies an allowed GET with the server's token, keeping only the caller's own query", async () => {
      const answer = await call(`${proxy}/files/file_1?rawText=true`, {
        headers: { authorization: "Bearer callers-own", cookie: "session=ok" },
      });
      expect(answer.status).toBe(200);
      expect(seen).toEqual([
        expect.objectContaining({
          method: "GET",
          url: "/files/file_1?rawText=true",
          authorization: `Bearer ${TOKEN}`,
          cookie: undefined,
        }),
      ]);
      expect(answer.headers.get("set-cookie")).toBeNull();
    });

    it("streams a multipart upload and a JSON body through", async () => {
      const form = new FormData();
      form.append("file", new Blob(["%PDF-1.4 fixture"], { type: "application/pdf" }), "a.pdf");
      expect((await call(`${proxy}/files/upload`, { method: "POST", body: form })).status).toBe(
        200,
      );
      expect(seen[0]?.url).toBe("/files/upload");
      expect(seen[0]?.contentType).toMatch(/^multipart\/form-data; boundary=/);
      expect(seen[0]?.body).toContain("%PDF-1.4 fixture");

      const run = await call(`${proxy}/workflow_runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ workflowId: "workflow_1", rawTexts: ["x"] }),
      });
      expect(run.status).toBe(200);
      expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual([
        'POST /workflow_runs {"workflowId":"workflow_1","rawTexts":["x"]}',
      ]);
    });

    it("refuses what is outside the allow-list or not authorized, calling nothing", async () => {
      expect((await call(`${proxy}/processors`)).status).toBe(404);
      expect((await call(`${proxy}/workflow_runs`)).status).toBe(405);
      expect((await call(`${proxy}/workflow_runs/..%2Fworkflows`)).status).toBe(404);
      const blocked = await call(`${proxy}/workflow_runs/workflow_run_1`, {
        headers: { cookie: "session=blocked" },
      });
      expect(blocked.status).toBe(403);
      expect(seen).toEqual([]);
    });

    it("verifies webhooks over the raw bytes", async () => {
      const url = `${appUrl}/shop/webhooks/${runtime}`;
      const good = await signedDelivery(`evt_${runtime}`, SECRET);
      expect((await fetch(url, { method: "POST", ...good })).status).toBe(200);
      const tampered = { ...good, body: good.body.replace("PROCESSED", "FAILED") };
      expect((await fetch(url, { method: "POST", ...tampered })).status).toBe(401);
      const wrong = await signedDelivery(`evt_${runtime}_2`, "wss_other");
      expect((await fetch(url, { method: "POST", ...wrong })).status).toBe(401);
      await expect.poll(() => log).toContain(`verified on ${runtime}: evt_${runtime}`);
      expect(log).not.toContain(`verified on ${runtime}: evt_${runtime}_2`);
    });
  });
});
