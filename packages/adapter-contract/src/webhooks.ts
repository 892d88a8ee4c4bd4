import type { WebhookHandlerOptions } from "@extendkit/core/handlers";
import { signWebhook } from "@extendkit/core/webhooks";
import { afterEach, describe, expect, it } from "vitest";

/** A running server: the URL the webhook route answers on, and how to stop it. */
export interface ServerHandle {
  url: string;
  close(): Promise<void>;
}

/** Serves the given handler options through the adapter under test. */
export type WebhookServerFactory = (options: WebhookHandlerOptions) => Promise<ServerHandle>;

export const SECRET = "wss_contract_secret";

export function event(id: string, status = "PROCESSED") {
  return {
    eventId: id,
    eventType: "workflow_run.completed",
    payload: { object: "workflow_run", id: `workflow_run_${id}`, status },
  };
}

/** A signed delivery of `event(id)`. */
export async function signedDelivery(id: string, secret = SECRET, timestamp?: number) {
  const body = JSON.stringify(event(id));
  return {
    body,
    headers: await signWebhook({ body, secret, ...(timestamp ? { timestamp } : {}) }),
  };
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: response.status, text: await response.text() };
}

/** The webhook cases every adapter passes. */
export function webhookContract(name: string, start: WebhookServerFactory): void {
  describe(`webhook contract: ${name}`, () => {
    let server: ServerHandle | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });
    async function serve(options: Partial<WebhookHandlerOptions> = {}) {
      const seen: string[] = [];
      server = await start({
        secret: SECRET,
        on: { "workflow_run.completed": (e) => void seen.push(e.eventId) },
        ...options,
      });
      return { url: server.url, seen };
    }

    it("accepts a valid delivery and dispatches it to its typed handler", async () => {
      const { url, seen } = await serve();
      const { body, headers } = await signedDelivery("valid");
      expect((await post(url, body, headers)).status).toBe(200);
      expect(seen).toEqual(["valid"]);
    });

    const now = () => Math.floor(Date.now() / 1000);
    it.each([
      [
        "a tampered body",
        async () => {
          const d = await signedDelivery("t");
          return { ...d, body: d.body.replace("PROCESSED", "FAILED") };
        },
      ],
      ["a wrong secret", () => signedDelivery("w", "wss_other_secret")],
      ["a stale timestamp", () => signedDelivery("s", SECRET, now() - 3600)],
      ["a future timestamp", () => signedDelivery("f", SECRET, now() + 3600)],
      ["missing signature headers", async () => ({ ...(await signedDelivery("m")), headers: {} })],
    ] as const)("rejects %s with 401 and dispatches nothing", async (_, make) => {
      const { url, seen } = await serve();
      const { body, headers } = await make();
      expect((await post(url, body, headers)).status).toBe(401);
      expect(seen).toEqual([]);
    });

    it("answers 400 to a correctly signed body that is not an event", async () => {
      const { url, seen } = await serve();
      const body = JSON.stringify({ hello: "world" });
      expect((await post(url, body, await signWebhook({ body, secret: SECRET }))).status).toBe(400);
      expect(seen).toEqual([]);
    });

    it("acknowledges a redelivered eventId without handling it twice", async () => {
      const { url, seen } = await serve();
      const { body, headers } = await signedDelivery("dup");
      expect((await post(url, body, headers)).status).toBe(200);
      expect((await post(url, body, headers)).status).toBe(200);
      expect(seen).toEqual(["dup"]);
    });

    it("runs the handler once for ten copies of a delivery arriving at the same time", async () => {
      const { url, seen } = await serve();
      const { body, headers } = await signedDelivery("burst");
      const statuses = await Promise.all(
        Array.from({ length: 10 }, async () => (await post(url, body, headers)).status),
      );
      expect(statuses).toEqual(Array(10).fill(200));
      expect(seen).toEqual(["burst"]);
    });

    it("answers 500 without details when a handler throws, and reports it to onError", async () => {
      const errors: unknown[] = [];
      const { url } = await serve({
        on: {
          "workflow_run.completed": () => {
            throw new Error("database password is hunter2");
          },
        },
        onError: (error) => void errors.push(error),
      });
      const { body, headers } = await signedDelivery("boom");
      const result = await post(url, body, headers);
      expect(result.status).toBe(500);
      expect(result.text).not.toContain("hunter2");
      expect(String(errors[0])).toContain("hunter2");
    });

    it("answers 405 to other methods and 413 past the body limit", async () => {
      const { url } = await serve({ maxBodyBytes: 1024 });
      expect((await fetch(url)).status).toBe(405);
      const body = JSON.stringify({ ...event("big"), pad: "x".repeat(4096) });
      expect((await post(url, body, await signWebhook({ body, secret: SECRET }))).status).toBe(413);
    });
  });
}
