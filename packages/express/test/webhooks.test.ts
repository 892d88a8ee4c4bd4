import { connect } from "node:net";
import { rawRequest } from "@extendkit/adapter-contract";
import { signWebhook } from "@extendkit/core/webhooks";
import { startEmulator } from "@extendkit/emulator";
import { afterEach, describe, expect, it } from "vitest";
import { extendProxy, extendWebhooks } from "../src/index.js";
import { EXPRESSES, type Express, listen } from "./servers.js";

const SECRET = "wss_contract_secret";
const event = (id: string) => ({
  eventId: id,
  eventType: "workflow_run.completed",
  payload: { object: "workflow_run", id: "workflow_run_1", status: "PROCESSED" },
});

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  contentType = "application/json",
) {
  const response = await fetch(`${url}/webhooks/extend`, {
    method: "POST",
    headers: { "content-type": contentType, ...headers },
    body,
  });
  return { status: response.status, text: await response.text() };
}

describe.each(EXPRESSES)("extendWebhooks body states on %s", (_, express) => {
  async function start(setup: (app: ReturnType<Express>, seen: string[]) => void) {
    const app = express();
    const seen: string[] = [];
    setup(app, seen);
    app.use(((
      error: Error,
      _req: unknown,
      res: { status(n: number): { send(t: string): void } },
      _next: unknown,
    ) => {
      res.status(500).send(`app error handler: ${error.message}`);
    }) as never);
    const server = await listen(app);
    close = server.close;
    return { url: server.url, seen };
  }
  const receiver = (seen: string[]) =>
    extendWebhooks({
      secret: SECRET,
      on: { "workflow_run.completed": (e) => void seen.push(e.eventId) },
    });

  const bodyStates: Array<[string, (app: ReturnType<Express>, seen: string[]) => void]> = [
    ["an unread stream", (app, seen) => app.post("/webhooks/extend", receiver(seen) as never)],
    [
      "a Buffer from express.raw()",
      (app, seen) =>
        app.post("/webhooks/extend", express.raw({ type: "*/*" }), receiver(seen) as never),
    ],
    [
      "a string from express.text()",
      (app, seen) =>
        app.post("/webhooks/extend", express.text({ type: "*/*" }), receiver(seen) as never),
    ],
    [
      "a rawBody kept by express.json({ verify })",
      (app, seen) => {
        app.use(
          express.json({
            verify: (req, _res, buf) => {
              (req as { rawBody?: Buffer }).rawBody = buf;
            },
          }),
        );
        app.post("/webhooks/extend", receiver(seen) as never);
      },
    ],
    [
      "express.json() mounted for other types only",
      (app, seen) => {
        app.use(express.json({ type: "application/vnd.other+json" }));
        app.post("/webhooks/extend", receiver(seen) as never);
      },
    ],
  ];

  it.each(bodyStates)("verifies and dispatches a delivery whose body is %s", async (_, setup) => {
    const { url, seen } = await start(setup);
    const body = JSON.stringify(event("evt_1"));
    const result = await post(url, body, await signWebhook({ body, secret: SECRET }));
    expect(result.status).toBe(200);
    expect(seen).toEqual(["evt_1"]);
  });

  it("fails with the middleware order to use when express.json() ate the raw body", async () => {
    const { url, seen } = await start((app, s) => {
      app.use(express.json());
      app.post("/webhooks/extend", receiver(s) as never);
    });
    const body = JSON.stringify(event("evt_2"));
    const result = await post(url, body, await signWebhook({ body, secret: SECRET }));
    expect(result.status).toBe(500);
    expect(result.text).toContain('app.post("/webhooks/extend", extendWebhooks({ secret }));');
    expect(seen).toEqual([]);
  });
});

describe.each(EXPRESSES)("extendProxy with Express specifics on %s", (_, express) => {
  it("passes requests outside its mount path on, and re-sends a body express.json() parsed", async () => {
    const emulator = await startEmulator({ port: 0 });
    const app = express();
    app.use(express.json());
    app.use(extendProxy({ token: emulator.token, baseUrl: emulator.url }) as never);
    app.get("/other", (_req, res) => void res.send("next middleware"));
    const server = await listen(app);
    close = async () => {
      await server.close();
      await emulator.close();
    };
    expect(await (await fetch(`${server.url}/other`)).text()).toBe("next middleware");
    const created = await fetch(`${server.url}/api/extend/workflow_runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workflowId: emulator.seed.workflowId, rawTexts: ["Invoice #3"] }),
    });
    expect(created.status).toBe(200);
  });

  /** An app with a guard on one path before the proxy, against the emulator. */
  async function guarded() {
    const log: string[] = [];
    const emulator = await startEmulator({ port: 0, log: (line) => log.push(line) });
    const app = express();
    app.use("/api/extend/workflow_runs", (_req, res) => void res.status(403).send("guarded"));
    app.use(extendProxy({ token: emulator.token, baseUrl: emulator.url }) as never);
    const server = await listen(app);
    close = async () => {
      await server.close();
      await emulator.close();
    };
    return { url: server.url, log };
  }

  it.each([
    ["/api/extend/x/../workflow_runs/workflow_run_1", 400],
    ["/api/extend/x/%2e%2e/workflow_runs/workflow_run_1", 400],
    ["/api/extend/x\\..\\workflow_runs/workflow_run_1", 400],
    // An encoded slash is not a separator: never an id, so not found.
    ["/api/extend/files/..%2F..%2Fapi/extend/workflow_runs/workflow_run_1", 404],
  ])("answers %s, which a guard on the raw path would not see, with %i", async (path, status) => {
    const { url, log } = await guarded();
    const answer = await rawRequest(
      url,
      `GET ${path} HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n`,
    );
    expect(answer.status).toBe(status);
    expect(log).toEqual([]);
  });

  it("answers a TRACE with 400, not a 500 with a stack trace", async () => {
    const { url } = await guarded();
    const answer = await rawRequest(
      url,
      "TRACE /api/extend/files/file_1 HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n",
    );
    expect(answer.status).toBe(400);
    expect(answer.text).not.toMatch(/ at |node_modules/);
  });

  it("a refused upload's unread body does not hold up the next request on its connection", async () => {
    const { url } = await guarded();
    const big = "x".repeat(2 * 1024 * 1024);
    // Refused (415: not multipart) before any of the body is read; the GET after it on the
    // same connection must still be answered.
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.write(
      `POST /api/extend/files/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${big.length}\r\n\r\n`,
    );
    socket.write(big);
    socket.write("GET /api/extend/processors HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    try {
      await expect
        .poll(() => text.match(/^HTTP\/1\.1 \d+/gm), { timeout: 10_000 })
        .toEqual(["HTTP/1.1 415", "HTTP/1.1 404"]);
    } finally {
      socket.destroy();
    }
  });
});
