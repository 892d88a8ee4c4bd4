import { type Emulator, startEmulator } from "@extendkit/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ExpressRequest, extendProxy } from "../src/index.js";
import { EXPRESSES, listen } from "./servers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe.each(EXPRESSES)("extendProxy on %s", (_, express) => {
  async function start(
    options: {
      authorize?: (req: ExpressRequest) => boolean;
      maxBodyBytes?: number;
      json?: boolean;
    } = {},
  ) {
    const app = express();
    const errors: unknown[] = [];
    if (options.json) app.use(express.json());
    app.use(
      extendProxy({
        token: emulator.token,
        baseUrl: emulator.url,
        ...(options.authorize ? { authorize: options.authorize } : {}),
        ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
        onError: (error) => void errors.push(error),
      }) as never,
    );
    app.get("/other", (_req, res) => void res.send("next middleware"));
    const server = await listen(app);
    close = server.close;
    return { url: `${server.url}/api/extend`, root: server.url, errors };
  }

  // Every answer the proxy gives is scanned for the server's token.
  async function call(url: string, init?: RequestInit) {
    const response = await fetch(url, init);
    const text = await response.text();
    expect(text).not.toContain(emulator.token);
    for (const [, value] of response.headers) expect(value).not.toContain(emulator.token);
    return { status: response.status, text, json: () => JSON.parse(text) };
  }

  it("runs a workflow and reads the run with the server's token, whatever the caller sent", async () => {
    const { url } = await start({ json: true });
    const created = await call(`${url}/workflow_runs`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer stolen-or-wrong" },
      body: JSON.stringify({
        workflowId: emulator.seed.workflowId,
        rawTexts: ["Invoice #1, total $5.00"],
      }),
    });
    expect(created.status).toBe(200);
    const id = created.json().workflowRuns[0].id;
    const read = await call(`${url}/workflow_runs/${id}`, { headers: { cookie: "session=1" } });
    expect(read.status).toBe(200);
    expect(read.json().workflowRun.id).toBe(id);
  });

  it("uploads a file as a stream", async () => {
    const { url } = await start();
    const form = new FormData();
    form.append("file", new Blob(["Invoice #2, total $7.00"], { type: "text/plain" }), "note.txt");
    const uploaded = await call(`${url}/files/upload`, { method: "POST", body: form });
    expect(uploaded.status).toBe(200);
    expect(uploaded.json().file.name).toBe("note.txt");
  });

  it("refuses operations outside the allow-list, and passes other paths on", async () => {
    const { url, root } = await start();
    // Listing runs is not allowed (only creating one is): 405; an unknown path: 404.
    expect((await call(`${url}/workflow_runs`)).status).toBe(405);
    expect((await call(`${url}/processors`)).status).toBe(404);
    expect((await call(`${root}/other`)).text).toBe("next middleware");
  });

  it("asks authorize with the Express request, and answers 403 when it says no", async () => {
    const seen: string[] = [];
    const { url } = await start({
      authorize: (req) => {
        seen.push(req.originalUrl ?? "");
        return req.headers.cookie === "session=ok";
      },
    });
    expect((await call(`${url}/workflow_runs/workflow_run_x`)).status).toBe(403);
    expect(
      (await call(`${url}/workflow_runs/workflow_run_x`, { headers: { cookie: "session=ok" } }))
        .status,
    ).toBe(404);
    expect(seen).toEqual([
      "/api/extend/workflow_runs/workflow_run_x",
      "/api/extend/workflow_runs/workflow_run_x",
    ]);
  });

  it("answers 413 to an upload past maxBodyBytes", async () => {
    const { url } = await start({ maxBodyBytes: 1024 });
    const form = new FormData();
    form.append("file", new Blob(["x".repeat(8192)], { type: "text/plain" }), "big.txt");
    expect((await call(`${url}/files/upload`, { method: "POST", body: form })).status).toBe(413);
  });
});
