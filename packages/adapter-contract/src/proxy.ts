import type { ProxyHandlerOptions } from "@extendkit/core/handlers";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ServerHandle } from "./webhooks.js";

/**
 * Serves the proxy through the adapter under test. `authorize` is given as a check on the
 * request's cookie header so every adapter can map it from its own request type. The
 * handle's `url` is the server's root; the proxy is mounted at `/api/extend`.
 */
export type ProxyServerFactory = (
  options: Omit<ProxyHandlerOptions, "authorize"> & { allowCookie?: string },
) => Promise<ServerHandle>;

/** The proxy cases every adapter passes, against the emulator. */
export function proxyContract(name: string, start: ProxyServerFactory): void {
  describe(`proxy contract: ${name}`, () => {
    let emulator: Emulator;
    let server: ServerHandle | undefined;
    beforeAll(async () => {
      emulator = await startEmulator({ port: 0 });
    });
    afterAll(async () => {
      await emulator.close();
    });
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });
    async function serve(options: { maxBodyBytes?: number; allowCookie?: string } = {}) {
      server = await start({ token: emulator.token, baseUrl: emulator.url, ...options });
      return `${server.url}/api/extend`;
    }
    // Every answer of the proxy is scanned for the server's token.
    async function call(url: string, init?: RequestInit) {
      const response = await fetch(url, init);
      const text = await response.text();
      expect(text).not.toContain(emulator.token);
      for (const [, value] of response.headers) expect(value).not.toContain(emulator.token);
      return { status: response.status, json: () => JSON.parse(text) };
    }

    it("runs a workflow and reads its run with the server's token, dropping the caller's", async () => {
      const url = await serve();
      const created = await call(`${url}/workflow_runs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer callers-own" },
        body: JSON.stringify({
          workflowId: emulator.seed.workflowId,
          rawTexts: ["Invoice #1, total $5.00"],
        }),
      });
      expect(created.status).toBe(200);
      const id = created.json().workflowRuns[0].id;
      const read = await call(`${url}/workflow_runs/${id}`);
      expect(read.json().workflowRun.id).toBe(id);
    });

    it("streams an upload", async () => {
      const url = await serve();
      const form = new FormData();
      form.append(
        "file",
        new Blob(["Invoice #2, total $7.00"], { type: "text/plain" }),
        "note.txt",
      );
      const uploaded = await call(`${url}/files/upload`, { method: "POST", body: form });
      expect(uploaded.status).toBe(200);
      expect(uploaded.json().file.name).toBe("note.txt");
    });

    it("refuses operations outside the allow-list", async () => {
      const url = await serve();
      expect((await call(`${url}/workflow_runs`)).status).toBe(405);
      expect((await call(`${url}/processors`)).status).toBe(404);
    });

    it("answers 403 when authorize says no", async () => {
      const url = await serve({ allowCookie: "session=ok" });
      expect((await call(`${url}/workflow_runs/workflow_run_x`)).status).toBe(403);
      const allowed = await call(`${url}/workflow_runs/workflow_run_x`, {
        headers: { cookie: "session=ok" },
      });
      expect(allowed.status).toBe(404);
    });

    it("answers 413 to an upload past maxBodyBytes", async () => {
      const url = await serve({ maxBodyBytes: 1024 });
      const form = new FormData();
      form.append("file", new Blob(["x".repeat(8192)], { type: "text/plain" }), "big.txt");
      expect((await call(`${url}/files/upload`, { method: "POST", body: form })).status).toBe(413);
    });
  });
}
