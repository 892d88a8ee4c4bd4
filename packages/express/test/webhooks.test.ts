import { signWebhook } from "@extendkit/core/webhooks";
import { afterEach, describe, expect, it } from "vitest";
import { extendWebhooks } from "../src/index.js";
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

describe.each(EXPRESSES)("extendWebhooks on %s", (_, express) => {
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

  it.each([
    [
      "a tampered body",
      async (body: string) => ({
        body: body.replace("PROCESSED", "FAILED"),
        headers: await signWebhook({ body, secret: SECRET }),
      }),
      401,
    ],
    [
      "a wrong secret",
      async (body: string) => ({ body, headers: await signWebhook({ body, secret: "wss_other" }) }),
      401,
    ],
    [
      "a stale timestamp",
      async (body: string) => ({
        body,
        headers: await signWebhook({
          body,
          secret: SECRET,
          timestamp: Math.floor(Date.now() / 1000) - 3600,
        }),
      }),
      401,
    ],
    [
      "a future timestamp",
      async (body: string) => ({
        body,
        headers: await signWebhook({
          body,
          secret: SECRET,
          timestamp: Math.floor(Date.now() / 1000) + 3600,
        }),
      }),
      401,
    ],
    ["no signature headers", async (body: string) => ({ body, headers: {} }), 401],
  ] as const)("refuses %s", async (_, make, status) => {
    const { url, seen } = await start((app, s) =>
      app.post("/webhooks/extend", receiver(s) as never),
    );
    const { body, headers } = await make(JSON.stringify(event("evt_3")));
    const result = await post(url, body, headers);
    expect(result.status).toBe(status);
    expect(seen).toEqual([]);
  });

  it("ignores a repeated eventId, answering 200 both times", async () => {
    const { url, seen } = await start((app, s) =>
      app.post("/webhooks/extend", receiver(s) as never),
    );
    const body = JSON.stringify(event("evt_4"));
    const headers = await signWebhook({ body, secret: SECRET });
    expect((await post(url, body, headers)).status).toBe(200);
    expect((await post(url, body, headers)).status).toBe(200);
    expect(seen).toEqual(["evt_4"]);
  });

  it("answers 500 without details when a handler throws, and tells onError", async () => {
    const errors: unknown[] = [];
    const { url } = await start((app) =>
      app.post(
        "/webhooks/extend",
        extendWebhooks({
          secret: SECRET,
          on: {
            "workflow_run.completed": () => {
              throw new Error("database password is hunter2");
            },
          },
          onError: (error) => void errors.push(error),
        }) as never,
      ),
    );
    const body = JSON.stringify(event("evt_5"));
    const result = await post(url, body, await signWebhook({ body, secret: SECRET }));
    expect(result.status).toBe(500);
    expect(result.text).not.toContain("hunter2");
    expect(String(errors[0])).toContain("hunter2");
  });

  it("answers 405 to other methods and 413 past the body limit", async () => {
    const { url } = await start((app) =>
      app.all("/webhooks/extend", extendWebhooks({ secret: SECRET, maxBodyBytes: 1024 }) as never),
    );
    expect((await fetch(`${url}/webhooks/extend`)).status).toBe(405);
    const body = JSON.stringify({ ...event("evt_6"), pad: "x".repeat(4096) });
    expect((await post(url, body, await signWebhook({ body, secret: SECRET }))).status).toBe(413);
  });
});
