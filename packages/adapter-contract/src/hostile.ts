import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { apiOperations, type OperationId } from "@extendkit/core";
import type { ProxyHandlerOptions } from "@extendkit/core/handlers";
import { signWebhook } from "@extendkit/core/webhooks";
import { type Emulator, type FaultRule, startEmulator } from "@extendkit/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { chunkedFlood, rawRequest } from "./raw-http.js";
import { SECRET, type ServerHandle } from "./webhooks.js";

/** The API key the hostile suite's emulator accepts, and that no answer may ever show. */
export const CONTRACT_TOKEN = "sk_contract_token_never_leaves_the_server_7f3a";

/** The proxy options the hostile suite serves (the adapter's `authorize` is not used). */
export type HostileProxyOptions = Pick<
  ProxyHandlerOptions,
  "token" | "baseUrl" | "allow" | "timeoutMs" | "maxBodyBytes"
>;

/** How the hostile suite reaches an adapter: it serves routes and can force a GC. */
export interface HostileTarget {
  /** Serves the proxy with these options; the handle's `url` is where it is mounted. */
  proxy(options: HostileProxyOptions): Promise<ServerHandle>;
  /**
   * Serves the webhook route with the contract's `SECRET`, the default body limit (5 MiB)
   * and a handler for `workflow_run.completed`; the handle's `url` is the route.
   */
  webhook(): Promise<ServerHandle>;
  /** Runs a full garbage collection in the process that serves the routes. */
  gc(): Promise<void>;
  /**
   * Whether the server can answer while the request body is still arriving. Next.js's Edge
   * runtime cannot: its sandbox holds every answer until the request body has ended (it
   * awaits the body's `finalize()`), so an endless body is never answered there, whatever
   * the route does. Such a target gets the finite oversized bodies only.
   * @default true
   */
  answersBeforeBodyEnds?: boolean;
}

/**
 * Where one template has an id parameter and another a literal at the same place, a path
 * that fits both: `[victim, its method, colliding path, the methods sent]`. Generated from
 * the spec, so a new operation is covered by itself.
 */
export function collisions(): [OperationId, string, string[]][] {
  const ops = Object.entries(apiOperations) as [OperationId, { method: string; path: string }][];
  const cases: [OperationId, string, string[]][] = [];
  for (const [victim, op] of ops) {
    const mine = op.path.split("/");
    const paths = new Set<string>();
    for (const [, other] of ops) {
      const theirs = other.path.split("/");
      if (other.path === op.path || theirs.length !== mine.length) continue;
      const fits = mine.every(
        (s, i) => s === theirs[i] || s.startsWith("{") || theirs[i]?.startsWith("{"),
      );
      const collides = mine.some((s, i) => s.startsWith("{") && !theirs[i]?.startsWith("{"));
      if (!fits || !collides) continue;
      const path = theirs.map((s) => (s.startsWith("{") ? "id_1" : s)).join("/");
      paths.add(path);
      paths.add(path.toUpperCase());
    }
    if (paths.size) cases.push([victim, op.method, [...paths]]);
  }
  return cases;
}

/**
 * The hostile suite: a misbehaving upstream (the emulator's gateway faults: echoes of the
 * request in error and success bodies and in headers, same- and cross-origin redirects,
 * hangs, resets, slow and cut answers) and hostile callers (malformed `Host`, paths shaped
 * like other operations, disconnects with a forced GC, oversized chunked bodies, cross-site
 * forms). Every answer is scanned for the token.
 */
export function hostileContract(name: string, target: HostileTarget): void {
  describe(`hostile contract: ${name}`, () => {
    let emulator: Emulator;
    let elsewhere: Server;
    let elsewhereHits = 0;
    const log: string[] = [];
    const servers: ServerHandle[] = [];

    beforeAll(async () => {
      emulator = await startEmulator({ port: 0, token: CONTRACT_TOKEN, log: (l) => log.push(l) });
      // Another origin, for cross-origin redirects: it must never be called.
      elsewhere = createServer((_req, res) => {
        elsewhereHits++;
        res.end(`stolen: ${_req.headers.authorization}`);
      });
      await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
    });
    afterAll(async () => {
      elsewhere.closeAllConnections();
      await new Promise((resolve) => elsewhere.close(resolve));
      await emulator.close();
    });
    afterEach(async () => {
      await fetch(`${emulator.url}/_emulator/faults`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${CONTRACT_TOKEN}` },
      });
      for (const server of servers.splice(0)) await server.close();
    });

    async function faults(...rules: FaultRule[]) {
      const response = await fetch(`${emulator.url}/_emulator/faults`, {
        method: "PUT",
        headers: { authorization: `Bearer ${CONTRACT_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ rules }),
      });
      expect(response.status).toBe(200);
    }
    async function pendingFaults(): Promise<unknown[]> {
      const response = await fetch(`${emulator.url}/_emulator/faults`, {
        headers: { authorization: `Bearer ${CONTRACT_TOKEN}` },
      });
      return ((await response.json()) as { rules: unknown[] }).rules;
    }
    async function proxy(options: Partial<HostileProxyOptions> = {}) {
      const server = await target.proxy({
        token: CONTRACT_TOKEN,
        baseUrl: emulator.url,
        ...options,
      });
      servers.push(server);
      return server.url;
    }
    /** A call through the adapter; its answer is scanned for the token in every form. */
    async function call(url: string, init?: RequestInit) {
      const response = await fetch(url, init);
      let text = "";
      let broken = false;
      try {
        text = await response.text();
      } catch {
        broken = true;
      }
      expect(text).not.toContain(CONTRACT_TOKEN);
      expect(text).not.toContain(Buffer.from(CONTRACT_TOKEN).toString("base64").slice(0, 40));
      for (const [header, value] of response.headers) {
        expect(`${header}: ${value}`).not.toContain(CONTRACT_TOKEN);
      }
      return { status: response.status, text, broken };
    }
    /** What the API heard, without the suite's own admin calls. */
    const heard = (from = 0) => log.slice(from).filter((line) => !line.includes(" /_emulator/"));
    const upstreamSaw = (pattern: RegExp, from = 0) => heard(from).some((l) => pattern.test(l));

    describe("a path shaped like another operation", () => {
      it.each(collisions())(
        "with only %s (%s) allowed, %j never reach the API",
        async (victim, method, paths) => {
          const url = await proxy({ allow: [victim] });
          const before = log.length;
          for (const path of paths) {
            const json =
              method === "POST"
                ? { body: "{}", headers: { "content-type": "application/json" } }
                : {};
            const { status } = await call(`${url}${path}`, { method, ...json });
            expect([404, 405], `${method} ${path}`).toContain(status);
          }
          expect(heard(before)).toEqual([]);
          // The victim itself still goes through, so the refusals above are not a dead route.
          const own = apiOperations[victim].path.replace(/\{\w+\}/g, "id_1");
          const json =
            method === "POST"
              ? { body: "{}", headers: { "content-type": "application/json" } }
              : {};
          expect((await call(`${url}${own}`, { method, ...json })).status).not.toBe(502);
          expect(heard(before)).toHaveLength(1);
        },
      );
    });

    describe("an upstream that echoes the request", () => {
      it.each([
        ["json", 502, 0],
        ["json", 500, 0],
        ["text", 404, 0],
        ["html", 502, 0],
        ["base64", 400, 0],
        ["header", 429, 0],
        ["json", 200, 0],
        ["text", 200, 0],
        ["base64", 200, 0],
      ] as const)("%s in a %i answer: withheld as 502", async (format, status, padBytes) => {
        const url = await proxy();
        await faults({ type: "echo", format, status, padBytes, count: 1 });
        const before = log.length;
        const answer = await call(`${url}/workflow_runs/workflow_run_1`);
        expect(answer.status).toBe(502);
        expect(
          upstreamSaw(/^GET \/workflow_runs\/workflow_run_1 → \d+ .*\[faults: echo\]$/, before),
        ).toBe(true);
      });

      it("deep inside a long 200 answer: cut before the token, never sent", async () => {
        const url = await proxy();
        await faults({ type: "echo", format: "text", status: 200, padBytes: 300_000, count: 1 });
        const answer = await call(`${url}/files/file_1`);
        expect(answer.status === 502 || answer.broken).toBe(true);
      });
    });

    describe("an upstream that redirects", () => {
      it("same-origin: not followed, 502, and the target is never called", async () => {
        const url = await proxy();
        await faults({ type: "redirect", location: "/processors", count: 1 });
        const before = log.length;
        expect((await call(`${url}/workflow_runs/workflow_run_1`)).status).toBe(502);
        expect(heard(before)).toEqual([
          expect.stringMatching(
            /^GET \/workflow_runs\/workflow_run_1 → 302 .*\[faults: redirect\]$/,
          ),
        ]);
      });

      it("cross-origin: not followed, 502, and the other origin is never called", async () => {
        const url = await proxy();
        const other = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/steal`;
        await faults({ type: "redirect", status: 307, location: other, count: 1 });
        const answer = await call(`${url}/workflow_runs/workflow_run_1`);
        expect(answer.status).toBe(502);
        expect(answer.text).not.toContain("stolen");
        expect(elsewhereHits).toBe(0);
      });
    });

    describe("an upstream that fails or stalls", () => {
      it("hangs: 504 after timeoutMs, and the upstream connection is closed", async () => {
        const url = await proxy({ timeoutMs: 300 });
        await faults({ type: "hang", count: 1 });
        const before = log.length;
        expect((await call(`${url}/workflow_runs/workflow_run_1`)).status).toBe(504);
        await expect
          .poll(() => upstreamSaw(/→ no answer, connection closed .*\[faults: hang\]/, before))
          .toBe(true);
      });

      it("resets: 502", async () => {
        const url = await proxy();
        await faults({ type: "reset", count: 1 });
        expect((await call(`${url}/workflow_runs/workflow_run_1`)).status).toBe(502);
      });

      it("cuts its answer half-way: 502, never a short body that looks whole", async () => {
        const url = await proxy();
        await faults({ type: "cut-body", count: 1, operations: ["runWorkflow"] });
        const answer = await call(`${url}/workflow_runs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ workflowId: emulator.seed.workflowId, rawTexts: ["Invoice #1"] }),
        });
        expect(answer.status === 502 || answer.broken).toBe(true);
      });

      it("answers slowly but steadily: passed through whole", async () => {
        const url = await proxy({ timeoutMs: 2_000 });
        await faults(
          { type: "latency", ms: 100, count: 1 },
          { type: "slow-body", ms: 30, count: 1 },
        );
        const answer = await call(`${url}/workflow_runs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ workflowId: emulator.seed.workflowId, rawTexts: ["Invoice #2"] }),
        });
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.text).workflowRuns).toHaveLength(1);
      });

      it("stalls in the middle of its answer: 504 once it makes no progress for timeoutMs", async () => {
        const url = await proxy({ timeoutMs: 300 });
        await faults({ type: "slow-body", ms: 2_000, count: 1 });
        const before = log.length;
        const answer = await call(`${url}/workflow_runs/workflow_run_1`);
        expect(answer.status === 504 || answer.broken).toBe(true);
        // The upstream sees the connection go, so nothing of this call outlives the test.
        await expect
          .poll(() => upstreamSaw(/, cut before the body ended .*\[faults: slow-body\]/, before))
          .toBe(true);
      });
    });

    describe("a caller that disconnects", () => {
      it("cancels the upstream call, even after a garbage collection", async () => {
        const url = await proxy();
        await faults({ type: "hang", count: 1 });
        const before = log.length;
        const caller = new AbortController();
        const pending = fetch(`${url}/workflow_runs/workflow_run_1`, { signal: caller.signal });
        pending.catch(() => {});
        // The rule retires when drawn: the request is upstream, hanging.
        await expect.poll(pendingFaults, { timeout: 10_000 }).toEqual([]);
        await target.gc();
        await target.gc();
        caller.abort();
        await expect
          .poll(() => upstreamSaw(/→ no answer, connection closed .*\[faults: hang\]/, before), {
            timeout: 10_000,
          })
          .toBe(true);
      });
    });

    describe("a hostile caller", () => {
      it.each(["[::1", "a b", "%%%", "a/b", "", "x".repeat(300)])(
        "a Host of %j: no 500, no internals",
        async (host) => {
          const webhook = await target.webhook();
          servers.push(webhook);
          const proxied = await proxy();
          for (const [url, method] of [
            [webhook.url, "POST"],
            [`${proxied}/workflow_runs/workflow_run_1`, "GET"],
          ] as const) {
            const { pathname, search } = new URL(url);
            const answer = await rawRequest(
              url,
              `${method} ${pathname}${search} HTTP/1.1\nHost: ${host}\nContent-Length: 0\nConnection: close\n\n`,
            );
            expect(answer.status, `${method} ${url}`).toBeGreaterThanOrEqual(400);
            expect(answer.status, `${method} ${url}`).toBeLessThan(500);
            expect(answer.text).not.toMatch(/ at |node_modules|\/src\/|\.ts:|\.js:/);
            expect(answer.text).not.toContain(CONTRACT_TOKEN);
          }
        },
      );

      const head = (url: string, path: string, type: string) =>
        `POST ${new URL(url).pathname}${path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: ${type}\nTransfer-Encoding: chunked\n\n`;
      const oversized = [
        [
          "a webhook",
          async () => {
            const webhook = await target.webhook();
            servers.push(webhook);
            return webhook.url;
          },
          "",
          "application/json",
        ],
        [
          "an upload",
          () => proxy({ maxBodyBytes: 1024 * 1024 }),
          "/files/upload",
          "multipart/form-data; boundary=b",
        ],
      ] as const;

      it.each(oversized)(
        "%s chunked past the limit (20 MiB, then ended) gets 413, not silence",
        async (_, serve, path, type) => {
          const url = await serve();
          const answer = await rawRequest(url, head(url, path, type), async (socket, answered) => {
            await chunkedFlood(20 * 1024 * 1024)(socket, answered);
            if (!socket.destroyed) socket.write("0\r\n\r\n");
          });
          expect(answer.status).toBe(413);
        },
      );

      // Only where the server can answer before the body ends (see `answersBeforeBodyEnds`).
      if (target.answersBeforeBodyEnds !== false)
        it.each(oversized)(
          "%s chunked without end gets 413 while it is still being sent",
          async (_, serve, path, type) => {
            const url = await serve();
            const answer = await rawRequest(url, head(url, path, type), chunkedFlood());
            expect(answer.status).toBe(413);
          },
        );

      it("a cross-site form or a JSON operation fed text/plain is refused before the API", async () => {
        const url = await proxy();
        const before = log.length;
        const form = await call(`${url}/workflow_runs`, {
          method: "POST",
          headers: { "content-type": "application/json", "sec-fetch-site": "cross-site" },
          body: "{}",
        });
        expect(form.status).toBe(403);
        const text = await call(`${url}/workflow_runs`, {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: `{"workflowId":"${emulator.seed.workflowId}"}`,
        });
        expect(text.status).toBe(415);
        expect(heard(before)).toEqual([]);
      });

      it("a signed event whose type names an Object.prototype member is acknowledged", async () => {
        const webhook = await target.webhook();
        servers.push(webhook);
        for (const eventType of [
          "hasOwnProperty",
          "valueOf",
          "constructor",
          "__proto__",
          "toString",
        ]) {
          const body = JSON.stringify({
            eventId: `evt_${eventType}`,
            eventType,
            payload: { id: "x" },
          });
          const response = await fetch(webhook.url, {
            method: "POST",
            headers: await signWebhook({ body, secret: SECRET }),
            body,
          });
          expect(response.status, eventType).toBe(200);
        }
      });
    });
  });
}
