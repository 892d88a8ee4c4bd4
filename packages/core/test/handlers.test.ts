import { afterAll, describe, expect, expectTypeOf, test, vi } from "vitest";
import {
  createMemoryDedupeStore,
  createProxyHandler,
  createWebhookHandler,
  type DedupeStore,
  type ProxyHandlerOptions,
  type WebhookContext,
  type WebhookHandlerOptions,
} from "../src/handlers/index.js";
import type { WebhookEvent, WorkflowRun } from "../src/index.js";
import { signWebhook, WebhookParseError, WebhookSignatureError } from "../src/webhooks/index.js";

const SECRET = "wss_handler_secret_456";
const TOKEN = "sk_live_proxy_token_789";

/** Every response of the suite, cloned, to check afterwards that no secret ever leaks. */
const responses: { name: string; response: Response }[] = [];
function track(handle: (request: Request) => Promise<Response>) {
  return async (request: Request) => {
    const response = await handle(request);
    responses.push({
      name: `${request.method} ${request.url} → ${response.status}`,
      response: response.clone(),
    });
    return response;
  };
}

afterAll(async () => {
  expect(responses.length).toBeGreaterThan(40);
  for (const { name, response } of responses) {
    const text = await response.text().catch(() => "");
    for (const secret of [TOKEN, SECRET]) {
      expect(text, name).not.toContain(secret);
      for (const [header, value] of response.headers) {
        expect(`${header}: ${value}`, name).not.toContain(secret);
      }
    }
  }
});

const run = {
  object: "workflow_run",
  id: "workflow_run_1",
  status: "PROCESSED",
  outputs: [],
  stepRuns: [],
} as unknown as WorkflowRun;
const completed = { eventId: "event_1", eventType: "workflow_run.completed", payload: run };

/** A POST as Extend sends it: signed with `secret` now. */
async function delivery(
  event: unknown,
  { secret = SECRET, headers = {} as Record<string, string> } = {},
): Promise<Request> {
  const body = typeof event === "string" ? event : JSON.stringify(event);
  const signature = await signWebhook({ body, secret });
  return new Request("https://app.test/webhooks/extend", {
    method: "POST",
    body,
    headers: { ...signature, ...headers },
  });
}

/** A POST whose body is `stream`, with no content-length, signed over other bytes. */
async function streamedDelivery(stream: ReadableStream<Uint8Array>): Promise<Request> {
  return new Request("https://app.test/webhooks/extend", {
    method: "POST",
    body: stream,
    duplex: "half",
    headers: await signWebhook({ body: "irrelevant", secret: SECRET }),
  } as RequestInit);
}

/** A body stream that never ends by itself, and records whether it was cancelled. */
function endlessStream(chunkSize = 1024) {
  const state = { cancelled: false, pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulled += chunkSize;
      controller.enqueue(new Uint8Array(chunkSize).fill(0x61));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

function streamOf(bytes: Uint8Array, chunkSize = 100) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += chunkSize) {
        controller.enqueue(bytes.slice(i, i + chunkSize));
      }
      controller.close();
    },
  });
}

function webhook(options: Partial<WebhookHandlerOptions> = {}) {
  const completedHandler = vi.fn((_event: unknown, _context: WebhookContext) => {});
  const onError = vi.fn();
  const handle = track(
    createWebhookHandler({
      secret: SECRET,
      on: { "workflow_run.completed": completedHandler },
      onError,
      ...options,
    }),
  );
  return { handle, completedHandler, onError };
}

describe("createWebhookHandler", () => {
  test.each(["GET", "PUT", "DELETE", "HEAD"])(
    "answers %s with 405 and Allow: POST",
    async (method) => {
      const { handle, completedHandler } = webhook();

      const response = await handle(new Request("https://app.test/webhooks/extend", { method }));

      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
      expect(completedHandler).not.toHaveBeenCalled();
    },
  );

  test("answers 200 and calls the typed handler once with the event and the request", async () => {
    const { handle, completedHandler, onError } = webhook();
    const request = await delivery(completed);

    const response = await handle(request);

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ received: true });
    expect(completedHandler).toHaveBeenCalledTimes(1);
    expect(completedHandler).toHaveBeenCalledWith(completed, { request });
    expect(onError).not.toHaveBeenCalled();
  });

  test("types each handler's event by its eventType", () => {
    createWebhookHandler({
      secret: SECRET,
      on: {
        "workflow_run.completed": (event) => {
          expectTypeOf(event.eventType).toEqualTypeOf<"workflow_run.completed">();
          expectTypeOf(event.payload).toEqualTypeOf<WorkflowRun>();
        },
        "processor.version.published": (event) => {
          expectTypeOf(event.payload.object).not.toEqualTypeOf<"workflow_run">();
        },
      },
      onEvent: (event) => expectTypeOf(event).toEqualTypeOf<WebhookEvent>(),
    });
  });

  test("accepts a body of exactly maxBodyBytes", async () => {
    const body = JSON.stringify(completed);
    const { handle, completedHandler } = webhook({
      maxBodyBytes: new TextEncoder().encode(body).length,
    });

    const response = await handle(await delivery(body));

    expect(response.status).toBe(200);
    expect(completedHandler).toHaveBeenCalledTimes(1);
  });

  test("answers 413 to a body whose content-length is over maxBodyBytes, before reading it", async () => {
    const { handle, completedHandler } = webhook({ maxBodyBytes: 1000 });
    const { stream, state } = endlessStream();

    const response = await handle(
      new Request("https://app.test/webhooks/extend", {
        method: "POST",
        body: stream,
        duplex: "half",
        headers: { "content-length": "1001" },
      } as RequestInit),
    );

    expect(response.status).toBe(413);
    expect(state.pulled).toBeLessThanOrEqual(1024 * 2);
    expect(completedHandler).not.toHaveBeenCalled();
  });

  test("answers 413 to a signed body over maxBodyBytes with its true content-length", async () => {
    const body = JSON.stringify(completed);
    const { handle, completedHandler } = webhook({ maxBodyBytes: body.length - 1 });
    const request = await delivery(body, { headers: { "content-length": String(body.length) } });

    const response = await handle(request);

    expect(response.status).toBe(413);
    expect(completedHandler).not.toHaveBeenCalled();
  });

  test("answers 413 to a streamed body without content-length, and stops reading it", async () => {
    const { handle, completedHandler } = webhook({ maxBodyBytes: 10_000 });
    const { stream, state } = endlessStream();
    const request = await streamedDelivery(stream);
    expect(request.headers.get("content-length")).toBeNull();

    const response = await handle(request);

    expect(response.status).toBe(413);
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(20_000);
    expect(completedHandler).not.toHaveBeenCalled();
  });

  test("answers 413 at once even when cancelling the request stream never settles", async () => {
    // Next.js's Edge runtime hands routes a stream whose cancel() never settles.
    const { handle } = webhook({ maxBodyBytes: 10_000 });
    const stream = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(1024)),
      cancel: () => new Promise<void>(() => {}),
    });
    expect((await handle(await streamedDelivery(stream))).status).toBe(413);
  });

  test("handles a valid delivery streamed in chunks without content-length", async () => {
    const body = JSON.stringify(completed);
    const { handle, completedHandler } = webhook();

    const response = await handle(
      new Request("https://app.test/webhooks/extend", {
        method: "POST",
        body: streamOf(new TextEncoder().encode(body), 7),
        duplex: "half",
        headers: await signWebhook({ body, secret: SECRET }),
      } as RequestInit),
    );

    expect(response.status).toBe(200);
    expect(completedHandler).toHaveBeenCalledWith(completed, expect.anything());
  });

  test.each([
    [
      "no signature headers",
      async () =>
        new Request("https://app.test/w", { method: "POST", body: JSON.stringify(completed) }),
      "missing_headers",
    ],
    [
      "another secret's signature",
      () => delivery(completed, { secret: "wss_attacker" }),
      "mismatch",
    ],
    [
      "a signature of another body",
      async () => {
        const signature = await signWebhook({ body: JSON.stringify(completed), secret: SECRET });
        return new Request("https://app.test/w", {
          method: "POST",
          body: JSON.stringify({ ...completed, eventId: "event_forged" }),
          headers: signature,
        });
      },
      "mismatch",
    ],
    [
      "a stale timestamp",
      async () => {
        const body = JSON.stringify(completed);
        const signature = await signWebhook({
          body,
          secret: SECRET,
          timestamp: Math.floor(Date.now() / 1000) - 3600,
        });
        return new Request("https://app.test/w", { method: "POST", body, headers: signature });
      },
      "too_old",
    ],
    [
      "a non-numeric timestamp",
      () => delivery(completed, { headers: { "x-extend-request-timestamp": "now" } }),
      "invalid_timestamp",
    ],
  ])("answers 401 to a delivery with %s", async (_name, makeRequest, reason) => {
    const { handle, completedHandler, onError } = webhook();

    const response = await handle(await makeRequest());

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: "Webhook signature verification failed.",
      reason,
    });
    expect(completedHandler).not.toHaveBeenCalled();
    expect(onError).toHaveBeenCalledWith(expect.any(WebhookSignatureError), undefined);
  });

  test("answers 401 with reason missing_secret when the secret is unset", async () => {
    const handle = track(createWebhookHandler({ secret: undefined as unknown as string }));

    const response = await handle(await delivery(completed));

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ reason: "missing_secret" });
  });

  test.each([
    ["not JSON", "hello"],
    ["not an event", JSON.stringify({ hello: "world" })],
    [
      "an event without payload",
      JSON.stringify({ eventId: "event_1", eventType: "workflow.created" }),
    ],
  ])("answers 400 to a signed body that is %s", async (_name, body) => {
    const { handle, completedHandler, onError } = webhook();

    const response = await handle(await delivery(body));

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "The delivery is not a valid event." });
    expect(completedHandler).not.toHaveBeenCalled();
    expect(onError).toHaveBeenCalledWith(expect.any(WebhookParseError), undefined);
  });

  test("answers 400 when the body cannot be read", async () => {
    const { handle, onError } = webhook();
    const broken = new ReadableStream({
      pull(controller) {
        controller.error(new Error("connection reset"));
      },
    });

    const response = await handle(
      new Request("https://app.test/w", {
        method: "POST",
        body: broken,
        duplex: "half",
      } as RequestInit),
    );

    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain("connection reset");
    expect(onError).toHaveBeenCalledTimes(1);
  });

  test("acknowledges a redelivery of a handled eventId without handling it again", async () => {
    const { handle, completedHandler } = webhook();

    const first = await handle(await delivery(completed));
    const second = await handle(await delivery(completed));
    const other = await handle(await delivery({ ...completed, eventId: "event_2" }));

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ received: true, duplicate: true });
    expect(other.status).toBe(200);
    expect(await other.json()).toEqual({ received: true });
    expect(completedHandler).toHaveBeenCalledTimes(2);
    expect(completedHandler.mock.calls.map(([event]) => (event as WebhookEvent).eventId)).toEqual([
      "event_1",
      "event_2",
    ]);
  });

  test("a failing handler answers 500 without details, reports the error, and the redelivery is handled", async () => {
    const failure = new Error("db password hunter2 rejected at 10.0.0.5");
    const completedHandler = vi
      .fn()
      .mockRejectedValueOnce(failure)
      .mockResolvedValueOnce(undefined);
    const { handle, onError } = webhook({ on: { "workflow_run.completed": completedHandler } });

    const response = await handle(await delivery(completed));

    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain(failure.message);
    expect(text).not.toContain("stack");
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(failure, completed);

    const redelivery = await handle(await delivery(completed));

    expect(redelivery.status).toBe(200);
    expect(await redelivery.json()).toEqual({ received: true });
    expect(completedHandler).toHaveBeenCalledTimes(2);
  });

  test("a handler that throws synchronously is a 500 too", async () => {
    const { handle, onError } = webhook({
      on: {
        "workflow_run.completed": () => {
          throw new TypeError("Cannot read properties of undefined (reading 'secret')");
        },
      },
    });

    const response = await handle(await delivery(completed));

    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain("Cannot read");
    expect(onError).toHaveBeenCalledWith(expect.any(TypeError), completed);
  });

  test("an onError that throws does not change the answer", async () => {
    const handle = track(
      createWebhookHandler({
        secret: SECRET,
        on: {
          "workflow_run.completed": () => {
            throw new Error("handler failed");
          },
        },
        onError: () => {
          throw new Error("logger failed");
        },
      }),
    );

    expect((await handle(await delivery(completed))).status).toBe(500);
    expect((await handle(await delivery(completed, { secret: "wss_x" }))).status).toBe(401);
  });

  test("calls onEvent for every event, after its typed handler", async () => {
    const order: string[] = [];
    const onEvent = vi.fn((event: WebhookEvent) => {
      order.push(`onEvent ${event.eventType}`);
    });
    const { handle } = webhook({
      on: { "workflow_run.completed": (event) => void order.push(`on ${event.eventType}`) },
      onEvent,
    });
    const created = {
      eventId: "event_9",
      eventType: "workflow.created",
      payload: { object: "workflow", id: "workflow_1" },
    };

    expect((await handle(await delivery(completed))).status).toBe(200);
    expect((await handle(await delivery(created))).status).toBe(200);

    expect(onEvent).toHaveBeenCalledTimes(2);
    expect(onEvent.mock.calls.map(([event]) => event)).toEqual([completed, created]);
    expect(order).toEqual([
      "on workflow_run.completed",
      "onEvent workflow_run.completed",
      "onEvent workflow.created",
    ]);
  });

  test("a failing onEvent is a 500 and releases the claim", async () => {
    const onEvent = vi
      .fn()
      .mockRejectedValueOnce(new Error("queue full"))
      .mockResolvedValue(undefined);
    const { handle, completedHandler } = webhook({ onEvent });

    expect((await handle(await delivery(completed))).status).toBe(500);
    expect((await handle(await delivery(completed))).status).toBe(200);
    expect(onEvent).toHaveBeenCalledTimes(2);
    expect(completedHandler).toHaveBeenCalledTimes(2);
  });

  test("answers 200 to an event type without a handler", async () => {
    const { handle, completedHandler } = webhook();

    const response = await handle(
      await delivery({
        eventId: "event_3",
        eventType: "processor.deleted",
        payload: { object: "document_processor", id: "dp_1" },
      }),
    );

    expect(response.status).toBe(200);
    expect(completedHandler).not.toHaveBeenCalled();
  });

  test.each(["hasOwnProperty", "valueOf", "constructor", "__proto__", "toString"])(
    "acknowledges a signed event of type %j without running anything inherited",
    async (eventType) => {
      const inherited = vi.fn();
      const onEvent = vi.fn();
      const on = Object.create({ [eventType]: inherited, "workflow_run.completed": inherited });
      const { handle, onError } = webhook({ on, onEvent });

      const response = await handle(
        await delivery({ eventId: `event_${eventType}`, eventType, payload: { id: "x" } }),
      );

      expect(response.status).toBe(200);
      expect(inherited).not.toHaveBeenCalled();
      expect(onEvent).toHaveBeenCalledTimes(1);
      expect(onError).not.toHaveBeenCalled();
    },
  );

  test("an own handler still runs for its type", async () => {
    const { handle, completedHandler } = webhook();
    expect((await handle(await delivery(completed))).status).toBe(200);
    expect(completedHandler).toHaveBeenCalledTimes(1);
  });

  test("with dedupe: false, a redelivery is handled again", async () => {
    const { handle, completedHandler } = webhook({ dedupe: false });

    const first = await handle(await delivery(completed));
    const second = await handle(await delivery(completed));

    expect(first.status).toBe(200);
    expect(await second.json()).toEqual({ received: true });
    expect(completedHandler).toHaveBeenCalledTimes(2);
  });

  test("uses a given dedupe store, and a redelivery after its TTL is handled again", async () => {
    let now = 0;
    const { handle, completedHandler } = webhook({
      dedupe: createMemoryDedupeStore({ ttlMs: 60_000, now: () => now }),
    });

    await handle(await delivery(completed));
    now = 59_999;
    expect(await (await handle(await delivery(completed))).json()).toEqual({
      received: true,
      duplicate: true,
    });
    now = 60_000;
    expect(await (await handle(await delivery(completed))).json()).toEqual({ received: true });
    expect(completedHandler).toHaveBeenCalledTimes(2);
  });

  test("a dedupe store that fails answers 500 without details and reports the error", async () => {
    const failure = new Error("redis://:hunter2@cache:6379 unreachable");
    const dedupe: DedupeStore = {
      claim: async () => {
        throw failure;
      },
      release: () => {},
    };
    const { handle, completedHandler, onError } = webhook({ dedupe });

    const response = await handle(await delivery(completed));

    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain("hunter2");
    expect(onError).toHaveBeenCalledWith(failure, completed);
    expect(completedHandler).not.toHaveBeenCalled();
  });

  test("a dedupe store whose release fails still answers 500 and reports both errors", async () => {
    const released = new Error("release failed");
    const dedupe: DedupeStore = {
      claim: () => true,
      release: async () => {
        throw released;
      },
    };
    const failure = new Error("handler failed");
    const { handle, onError } = webhook({
      dedupe,
      on: {
        "workflow_run.completed": () => {
          throw failure;
        },
      },
    });

    const response = await handle(await delivery(completed));

    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain("failed");
    expect(onError).toHaveBeenCalledWith(failure, completed);
    expect(onError).toHaveBeenCalledWith(released, completed);
  });

  describe("signed-URL deliveries", () => {
    const urlEvent = {
      eventId: "event_url",
      eventType: "workflow_run.completed",
      payload: { data: "https://storage.extend.test/event_url?sig=1" },
    };

    test("are downloaded through the given fetch before the handler sees them", async () => {
      const fetch = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) =>
        Response.json(run),
      );
      const { handle, completedHandler } = webhook({ fetch: fetch as typeof globalThis.fetch });

      const response = await handle(await delivery(urlEvent));

      expect(response.status).toBe(200);
      expect(fetch).toHaveBeenCalledTimes(1);
      expect(String(fetch.mock.calls[0]![0])).toBe(urlEvent.payload.data);
      expect(completedHandler).toHaveBeenCalledWith(
        { eventId: "event_url", eventType: "workflow_run.completed", payload: run },
        expect.anything(),
      );
    });

    test("go to onSignedUrl as they are with resolveSignedUrls: false", async () => {
      const fetch = vi.fn();
      const onSignedUrl = vi.fn();
      const onEvent = vi.fn();
      const { handle, completedHandler } = webhook({
        fetch,
        resolveSignedUrls: false,
        onSignedUrl,
        onEvent,
      });

      expect((await handle(await delivery(urlEvent))).status).toBe(200);

      expect(fetch).not.toHaveBeenCalled();
      expect(onSignedUrl).toHaveBeenCalledWith(urlEvent, expect.anything());
      // Typed handlers never see a payload that is only a URL.
      expect(completedHandler).not.toHaveBeenCalled();
      expect(onEvent).not.toHaveBeenCalled();
    });

    test("without onSignedUrl, resolveSignedUrls: false answers 500 so the event is redelivered", async () => {
      const fetch = vi.fn();
      const { handle, completedHandler, onError } = webhook({ fetch, resolveSignedUrls: false });

      const response = await handle(await delivery(urlEvent));

      expect(response.status).toBe(500);
      expect(onError).toHaveBeenCalledWith(
        expect.objectContaining({ message: expect.stringContaining("onSignedUrl") }),
        urlEvent,
      );
      expect(completedHandler).not.toHaveBeenCalled();
      expect(fetch).not.toHaveBeenCalled();
      // The claim was released: a later delivery, once configured, is not a duplicate.
      expect((await handle(await delivery(urlEvent))).status).toBe(500);
    });

    test("an expired URL answers 500, reports the parse error, and releases the claim", async () => {
      const fetch = vi
        .fn<typeof globalThis.fetch>()
        .mockResolvedValueOnce(new Response("expired", { status: 403 }))
        .mockResolvedValueOnce(Response.json(run));
      const { handle, completedHandler, onError } = webhook({ fetch });

      const response = await handle(await delivery(urlEvent));

      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain("storage.extend.test");
      expect(onError).toHaveBeenCalledWith(expect.any(WebhookParseError), urlEvent);
      expect(completedHandler).not.toHaveBeenCalled();

      expect((await handle(await delivery(urlEvent))).status).toBe(200);
      expect(completedHandler).toHaveBeenCalledTimes(1);
    });
  });
});

describe("createMemoryDedupeStore", () => {
  test("remembers an id for ttlMs, then forgets it", () => {
    let now = 1_000;
    const store = createMemoryDedupeStore({ ttlMs: 5_000, now: () => now });

    expect(store.claim("event_1")).toBe(true);
    expect(store.claim("event_1")).toBe(false);
    now = 5_999;
    expect(store.claim("event_1")).toBe(false);
    expect(store.claim("event_2")).toBe(true);
    now = 6_000;
    expect(store.claim("event_1")).toBe(true);
    expect(store.claim("event_2")).toBe(false);
    now = 10_999;
    expect(store.claim("event_2")).toBe(true);
  });

  test("remembers ids for 24 hours by default", () => {
    let now = 0;
    const store = createMemoryDedupeStore({ now: () => now });

    expect(store.claim("event_1")).toBe(true);
    now = 86_400_000 - 1;
    expect(store.claim("event_1")).toBe(false);
    now = 86_400_000;
    expect(store.claim("event_1")).toBe(true);
  });

  test("forgets a released id at once", async () => {
    const store = createMemoryDedupeStore({ now: () => 0 });

    expect(store.claim("event_1")).toBe(true);
    await store.release("event_1");
    expect(store.claim("event_1")).toBe(true);
    expect(store.claim("event_1")).toBe(false);
  });

  test("keeps at most maxEntries ids, forgetting the oldest first", () => {
    const store = createMemoryDedupeStore({ maxEntries: 2, now: () => 0 });

    expect(["a", "b", "c"].map((id) => store.claim(id))).toEqual([true, true, true]);
    expect(store.claim("c")).toBe(false);
    expect(store.claim("b")).toBe(false);
    expect(store.claim("a")).toBe(true); // forgotten; claiming it again evicts b
    expect(store.claim("b")).toBe(true);
    expect(store.claim("a")).toBe(false);
  });

  test("drops expired ids as time passes, so they do not count against maxEntries", () => {
    let now = 0;
    const store = createMemoryDedupeStore({ ttlMs: 10, maxEntries: 2, now: () => now });

    store.claim("a");
    now = 5;
    store.claim("b");
    now = 10; // a expired
    store.claim("c");
    expect(store.claim("b")).toBe(false);
    expect(store.claim("c")).toBe(false);
  });
});

/** A proxy whose fetch records each upstream request with its body, and answers `reply`. */
function proxy(
  options: Partial<ProxyHandlerOptions> = {},
  reply: (request: Request) => Response | Promise<Response> = () =>
    Response.json({ success: true }, { headers: { "x-request-id": "req_1" } }),
) {
  const upstream: { request: Request; body: string | null }[] = [];
  const onError = vi.fn();
  const handle = track(
    createProxyHandler({
      token: TOKEN,
      onError,
      fetch: async (input, init) => {
        const request = input instanceof Request ? input : new Request(input, init);
        // Recorded before its body is read, so a call that fails while sending still counts.
        const call = { request, body: null as string | null };
        upstream.push(call);
        // Read the body as a real fetch would, before answering.
        if (request.body) call.body = await request.text();
        return reply(request);
      },
      ...options,
    }),
  );
  return { handle, upstream, onError };
}

const app = (path: string, init?: RequestInit) => new Request(`https://app.test${path}`, init);

/** Headers on every answer of the proxy: nothing cached, sniffed or rendered as a page. */
const SAFE_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
};

describe("createProxyHandler", () => {
  test.each([
    [
      "GET",
      "/api/extend/workflow_runs/workflow_run_1",
      "https://api.extend.ai/workflow_runs/workflow_run_1",
      "getWorkflowRun",
    ],
    // Forwarded as the spec's path: no trailing slash, literal segments in their own case.
    [
      "GET",
      "/api/extend/workflow_runs/workflow_run_1/",
      "https://api.extend.ai/workflow_runs/workflow_run_1",
      "getWorkflowRun",
    ],
    [
      "GET",
      "/api/extend/Workflow_Runs/workflow_run_1",
      "https://api.extend.ai/workflow_runs/workflow_run_1",
      "getWorkflowRun",
    ],
    [
      "GET",
      "/api/extend/files/file_1?rawText=true",
      "https://api.extend.ai/files/file_1?rawText=true",
      "getFile",
    ],
    ["POST", "/api/extend/workflow_runs", "https://api.extend.ai/workflow_runs", "runWorkflow"],
    ["POST", "/api/extend/files/upload", "https://api.extend.ai/files/upload", "uploadFile"],
  ])("passes an allowed %s %s on to the API", async (method, path, url, operationId) => {
    const authorize = vi.fn(() => true);
    const { handle, upstream } = proxy({ authorize });
    const upload = operationId === "uploadFile";
    const body =
      method !== "POST" ? undefined : upload ? "--b--\r\n" : JSON.stringify({ workflowId: "w_1" });
    const type = upload ? "multipart/form-data; boundary=b" : "application/json";

    const response = await handle(
      app(path, { method, body, headers: body ? { "content-type": type } : {} }),
    );

    expect(response.status).toBe(200);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.request.method).toBe(method);
    expect(upstream[0]!.request.url).toBe(url);
    expect(upstream[0]!.body).toBe(body ?? null);
    expect(authorize).toHaveBeenCalledWith(expect.any(Request), {
      operationId,
      method,
      path: expect.stringMatching(/^\//),
      params:
        method === "GET"
          ? { [path.includes("files") ? "id" : "workflowRunId"]: expect.any(String) }
          : {},
    });
  });

  test.each([
    ["GET", "/api/extend/processors", 404, null],
    ["GET", "/api/extend/processor_runs/dpr_1", 404, null],
    ["POST", "/api/extend/workflow_runs/workflow_run_1/cancel", 404, null],
    ["GET", "/api/extend/files", 404, null],
    ["GET", "/api/extend", 404, null],
    ["GET", "/api/extend/", 404, null],
    ["GET", "/api/extendx/workflow_runs/workflow_run_1", 404, null],
    ["GET", "/workflow_runs/workflow_run_1", 404, null],
    ["GET", "/api/extend/workflow_runs/a/b", 404, null],
    // Ids are [A-Za-z0-9_-]: encoded slashes, dots and backslashes never reach the API.
    ["GET", "/api/extend/workflow_runs/..%2Fworkflows", 404, null],
    ["GET", "/api/extend/workflow_runs/%2e%2e", 404, null],
    ["GET", "/api/extend/files/file_1%5C..", 404, null],
    ["GET", "/api/extend/files/file.1", 404, null],
    ["DELETE", "/api/extend/files/file_1", 405, "GET"],
    ["DELETE", "/api/extend/workflow_runs/workflow_run_1", 405, "GET"],
    ["POST", "/api/extend/workflow_runs/workflow_run_1", 405, "GET"],
    // "batch" is batchRunWorkflow's literal, never a run id, in any method or letter case.
    ["POST", "/api/extend/workflow_runs/batch", 404, null],
    ["GET", "/api/extend/workflow_runs/batch", 404, null],
    ["GET", "/api/extend/workflow_runs/BATCH", 404, null],
    ["GET", "/api/extend/files/upload", 405, "POST"],
    ["GET", "/api/extend/workflow_runs", 405, "POST"],
    ["PUT", "/api/extend/files/upload", 405, "POST"],
  ])("refuses %s %s with %i", async (method, path, status, allow) => {
    const authorize = vi.fn(() => true);
    const { handle, upstream } = proxy({ authorize });

    const response = await handle(app(path, { method }));

    expect(response.status).toBe(status);
    expect(response.headers.get("allow")).toBe(allow);
    expect(upstream).toHaveLength(0);
    expect(authorize).not.toHaveBeenCalled();
  });

  test("passes only the operations of `allow`", async () => {
    const { handle, upstream } = proxy({ allow: ["listProcessors"] });

    expect((await handle(app("/api/extend/processors?maxPageSize=5"))).status).toBe(200);
    expect((await handle(app("/api/extend/workflow_runs/workflow_run_1"))).status).toBe(404);
    expect(upstream.map((u) => u.request.url)).toEqual([
      "https://api.extend.ai/processors?maxPageSize=5",
    ]);
  });

  test("refuses a missing token and an unknown operation when created", () => {
    expect(() => createProxyHandler({ token: "" })).toThrow(/`token` is required/);
    expect(() =>
      createProxyHandler({ token: TOKEN, allow: ["dropDatabase" as "getFile"] }),
    ).toThrow(/unknown operation "dropDatabase"/);
  });

  test("drops the caller's credentials and headers, and adds the server's token and API version", async () => {
    const { handle, upstream } = proxy();

    await handle(
      app("/api/extend/workflow_runs", {
        method: "POST",
        body: "{}",
        headers: {
          authorization: "Bearer user_session_token",
          cookie: "session=abc; csrf=def",
          "content-type": "application/json",
          accept: "application/json",
          "x-extend-api-version": "1999-01-01",
          "x-extend-workspace-id": "ws_someone_else",
          "x-forwarded-for": "203.0.113.9",
          origin: "https://evil.test",
        },
      }),
    );

    const headers = upstream[0]!.request.headers;
    expect(headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(headers.get("x-extend-api-version")).toBe("2025-04-21");
    expect(headers.get("content-type")).toBe("application/json");
    expect(headers.get("accept")).toBe("application/json");
    expect(headers.get("cookie")).toBeNull();
    expect(headers.get("x-extend-workspace-id")).toBeNull();
    expect(headers.get("x-forwarded-for")).toBeNull();
    expect(headers.get("origin")).toBeNull();
    expect([...headers.keys()].sort()).toEqual([
      "accept",
      "authorization",
      "content-type",
      "x-extend-api-version",
    ]);
  });

  test("sends the configured API version and workspace", async () => {
    const { handle, upstream } = proxy({ apiVersion: "2024-12-23", workspaceId: "ws_mine" });

    await handle(
      app("/api/extend/files/file_1", { headers: { "x-extend-workspace-id": "ws_theirs" } }),
    );

    expect(upstream[0]!.request.headers.get("x-extend-api-version")).toBe("2024-12-23");
    expect(upstream[0]!.request.headers.get("x-extend-workspace-id")).toBe("ws_mine");
  });

  test("answers 403 when authorize says false, without calling the API", async () => {
    const { handle, upstream } = proxy({ authorize: async () => false });

    const response = await handle(app("/api/extend/files/file_1"));

    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: "Forbidden." });
    expect(upstream).toHaveLength(0);
  });

  test("a throwing authorize answers 500 without details, reports it, and calls nothing", async () => {
    const failure = new Error("session store at redis://:hunter2@cache down");
    const { handle, upstream, onError } = proxy({
      authorize: async () => {
        throw failure;
      },
    });

    const response = await handle(app("/api/extend/files/file_1"));

    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain("hunter2");
    expect(onError).toHaveBeenCalledWith(failure);
    expect(upstream).toHaveLength(0);
  });

  test("answers authorize's own Response when it gives one", async () => {
    const { handle, upstream } = proxy({
      authorize: () =>
        new Response("log in first", { status: 401, headers: { "www-authenticate": "Session" } }),
    });

    const response = await handle(app("/api/extend/files/file_1"));

    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Session");
    expect(await response.text()).toBe("log in first");
    expect(upstream).toHaveLength(0);
  });

  test("authorize sees the caller's request, cookies included", async () => {
    const { handle, upstream } = proxy({
      authorize: (request) => request.headers.get("cookie")?.includes("session=") ?? false,
    });

    expect((await handle(app("/api/extend/files/file_1"))).status).toBe(403);
    expect(
      (await handle(app("/api/extend/files/file_1", { headers: { cookie: "session=1" } }))).status,
    ).toBe(200);
    expect(upstream).toHaveLength(1);
  });

  test("maps path and query under a custom mountPath to a custom base URL", async () => {
    const { handle, upstream } = proxy({
      mountPath: "/internal/extend/",
      baseUrl: "http://127.0.0.1:4010/",
    });

    const ok = await handle(app("/internal/extend/files/file_a-B_9?rawText=true&html=%20y"));
    const outside = await handle(app("/api/extend/workflow_runs/workflow_run_1"));

    expect(ok.status).toBe(200);
    expect(outside.status).toBe(404);
    expect(upstream.map((u) => u.request.url)).toEqual([
      "http://127.0.0.1:4010/files/file_a-B_9?rawText=true&html=+y",
    ]);
  });

  test("answers 413 to a body whose content-length is over maxBodyBytes, without calling the API", async () => {
    const { handle, upstream } = proxy({ maxBodyBytes: 10 });

    const response = await handle(
      app("/api/extend/workflow_runs", {
        method: "POST",
        body: '{"a":"123"}',
        headers: { "content-length": "11", "content-type": "application/json" },
      }),
    );

    expect(response.status).toBe(413);
    expect(upstream).toHaveLength(0);
  });

  test("answers 413 to a streamed body over maxBodyBytes and stops reading it", async () => {
    const { handle, onError, upstream } = proxy({ maxBodyBytes: 10_000 });
    const { stream, state } = endlessStream();

    const response = await handle(
      app("/api/extend/files/upload", {
        method: "POST",
        body: stream,
        duplex: "half",
        headers: { "content-type": "multipart/form-data; boundary=b" },
      } as RequestInit),
    );

    expect(response.status).toBe(413);
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(20_000);
    expect(onError).not.toHaveBeenCalled();
    // The upstream call started (the body streams) but never got its body.
    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.body).toBeNull();
  });

  test("streams a body of exactly maxBodyBytes through", async () => {
    const bytes = new Uint8Array(10_000).fill(0x62);
    const { handle, upstream } = proxy({ maxBodyBytes: 10_000 });

    const response = await handle(
      app("/api/extend/files/upload", {
        method: "POST",
        body: streamOf(bytes, 999),
        duplex: "half",
        headers: { "content-type": "multipart/form-data; boundary=b" },
      } as RequestInit),
    );

    expect(response.status).toBe(200);
    expect(upstream[0]!.body).toBe("b".repeat(10_000));
    expect(upstream[0]!.request.headers.get("content-type")).toBe(
      "multipart/form-data; boundary=b",
    );
  });

  test("answers 502 without details when the API cannot be reached, and reports the error", async () => {
    const failure = new TypeError(`fetch failed: connect ECONNREFUSED with Bearer ${TOKEN}`);
    const { handle, onError } = proxy({}, () => {
      throw failure;
    });

    const response = await handle(app("/api/extend/workflow_runs/workflow_run_1"));

    expect(response.status).toBe(502);
    const text = await response.text();
    expect(text).not.toContain("ECONNREFUSED");
    expect(text).not.toContain(TOKEN);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(failure);
  });

  test("an onError that throws does not change the 502", async () => {
    const { handle } = proxy(
      {
        onError: () => {
          throw new Error("logger failed");
        },
      },
      () => {
        throw new TypeError("fetch failed");
      },
    );

    const response = await handle(app("/api/extend/workflow_runs/workflow_run_1"));

    expect(response.status).toBe(502);
  });

  test.each([
    [200, { success: true, workflowRun: { id: "workflow_run_1" } }],
    [201, { success: true, workflowRuns: [] }],
    [404, { success: false, error: "Workflow run not found", code: "NOT_FOUND" }],
    [429, { success: false, error: "Too many requests", code: "RATE_LIMIT_EXCEEDED" }],
    [500, { success: false, error: "Internal error" }],
  ])("passes the API's %i answer back with only its safe headers", async (status, body) => {
    const { handle } = proxy({}, () =>
      Response.json(body, {
        status,
        headers: {
          "x-request-id": "req_42",
          "retry-after": "3",
          "set-cookie": "extend_session=secret; HttpOnly",
          "x-extend-internal-trace": "trace_1",
          "access-control-allow-origin": "*",
          server: "extend-api",
        },
      }),
    );

    const response = await handle(app("/api/extend/workflow_runs/workflow_run_1"));

    expect(response.status).toBe(status);
    expect(await response.json()).toEqual(body);
    expect(Object.fromEntries(response.headers)).toEqual({
      "content-type": "application/json",
      "x-request-id": "req_42",
      "retry-after": "3",
      ...SAFE_HEADERS,
    });
  });

  test("passes a 204 answer back without a body", async () => {
    const { handle } = proxy({}, () => new Response(null, { status: 204 }));

    const response = await handle(app("/api/extend/workflow_runs/workflow_run_1"));

    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
  });
});
