import { describe, expect, expectTypeOf, test, vi } from "vitest";
import type { SignedUrlWebhookEvent, WebhookEvent, WorkflowRun } from "../src/index.js";
import {
  fetchSignedPayload,
  isSignedUrlEvent,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhook,
  type WebhookDelivery,
  WebhookParseError,
  WebhookSignatureError,
} from "../src/webhooks/index.js";

// The known-answer vector of the brief (§4.3), computed independently of this code.
const VECTOR = {
  secret: "wss_test_secret_123",
  timestamp: 1707777128,
  body: '{"eventId":"event_1234","eventType":"workflow_run.completed","payload":{}}',
  signature: "30b75af966d6c259eca3b4a852834c5b0046193354f4f3ce7a7fa938bc6602a5",
};
const SECRET = "wss_test_secret_123";
const TS = 1_707_777_128;
/** The clock of a receiver reading the delivery `seconds` after it was signed. */
const at = (seconds: number) => () => (TS + seconds) * 1000;

const run = {
  object: "workflow_run",
  id: "workflow_run_abc",
  status: "PROCESSED",
  outputs: [],
  stepRuns: [],
} as unknown as WorkflowRun;
const eventBody = JSON.stringify({
  eventId: "event_1",
  eventType: "workflow_run.completed",
  payload: run,
});

async function signed(body: string | Uint8Array | ArrayBuffer = eventBody, secret = SECRET) {
  return { body, headers: await signWebhook({ body, secret, timestamp: TS }) };
}

/** Runs `verifyWebhook` and answers the `WebhookSignatureError` it must throw. */
async function refusal(promise: Promise<unknown>): Promise<WebhookSignatureError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebhookSignatureError);
  return error as WebhookSignatureError;
}

describe("the v0 signature", () => {
  test("signWebhook reproduces the known-answer vector", async () => {
    const headers = await signWebhook({
      body: VECTOR.body,
      secret: VECTOR.secret,
      timestamp: VECTOR.timestamp,
    });

    expect(headers).toEqual({
      "content-type": "application/json",
      "x-extend-request-timestamp": "1707777128",
      "x-extend-request-signature": VECTOR.signature,
    });
    expect(TIMESTAMP_HEADER).toBe("x-extend-request-timestamp");
    expect(SIGNATURE_HEADER).toBe("x-extend-request-signature");
  });

  test("verifyWebhook accepts the known-answer vector at its own time", async () => {
    const event = await verifyWebhook(
      {
        body: VECTOR.body,
        headers: new Headers({
          "x-extend-request-timestamp": String(VECTOR.timestamp),
          "x-extend-request-signature": VECTOR.signature,
        }),
        secret: VECTOR.secret,
      },
      { now: () => VECTOR.timestamp * 1000 },
    );

    expect(event).toEqual({
      eventId: "event_1234",
      eventType: "workflow_run.completed",
      payload: {},
    });
  });

  test("signWebhook dates the signature now by default", async () => {
    const before = Math.floor(Date.now() / 1000);
    const headers = await signWebhook({ body: eventBody, secret: SECRET });
    const after = Math.floor(Date.now() / 1000);

    const ts = Number(headers[TIMESTAMP_HEADER]);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
    await expect(
      verifyWebhook({ body: eventBody, headers, secret: SECRET }),
    ).resolves.toMatchObject({
      eventId: "event_1",
    });
  });
});

describe("verifyWebhook", () => {
  test("answers a typed event that narrows on eventType", async () => {
    const { body, headers } = await signed();

    const event = await verifyWebhook({ body, headers, secret: SECRET }, { now: at(0) });

    expectTypeOf(event).toEqualTypeOf<WebhookDelivery>();
    expect(isSignedUrlEvent(event)).toBe(false);
    if (isSignedUrlEvent(event)) throw new Error("unreachable");
    expectTypeOf(event).toEqualTypeOf<WebhookEvent>();
    expect(event.eventType).toBe("workflow_run.completed");
    if (event.eventType !== "workflow_run.completed") throw new Error("unreachable");
    expectTypeOf(event.payload).toEqualTypeOf<WorkflowRun>();
    expect(event.payload.id).toBe("workflow_run_abc");
    expect(event).toEqual({
      eventId: "event_1",
      eventType: "workflow_run.completed",
      payload: run,
    });
  });

  test.each([
    ["exactly maxAgeSeconds old", 300, {}],
    ["exactly maxFutureSeconds ahead", -60, {}],
    ["a day old when maxAgeSeconds is 0 (age check off)", 86_400, { maxAgeSeconds: 0 }],
    ["a year old when maxAgeSeconds is 0 (age check off)", 365 * 86_400, { maxAgeSeconds: 0 }],
    ["10 minutes old with maxAgeSeconds 600", 600, { maxAgeSeconds: 600 }],
    ["2 minutes ahead with maxFutureSeconds 120", -120, { maxFutureSeconds: 120 }],
  ])("accepts a delivery %s", async (_name, secondsLater, options) => {
    const { body, headers } = await signed();

    await expect(
      verifyWebhook({ body, headers, secret: SECRET }, { ...options, now: at(secondsLater) }),
    ).resolves.toMatchObject({ eventId: "event_1" });
  });

  test.each([
    ["301 s old with the default 300", 301, {}, "too_old"],
    ["an hour old", 3600, {}, "too_old"],
    ["11 s old with maxAgeSeconds 10", 11, { maxAgeSeconds: 10 }, "too_old"],
    ["61 s ahead with the default 60", -61, {}, "in_future"],
    ["a day ahead even when maxAgeSeconds is 0", -86_400, { maxAgeSeconds: 0 }, "in_future"],
    ["1 s ahead with maxFutureSeconds 0", -1, { maxFutureSeconds: 0 }, "in_future"],
  ] as const)("refuses a delivery %s", async (_name, secondsLater, options, reason) => {
    const { body, headers } = await signed();

    const error = await refusal(
      verifyWebhook({ body, headers, secret: SECRET }, { ...options, now: at(secondsLater) }),
    );

    expect(error.reason).toBe(reason);
  });

  test("refuses a body with one byte changed", async () => {
    const { headers } = await signed();
    const tampered = eventBody.replace("workflow_run_abc", "workflow_run_abd");
    expect(tampered).not.toBe(eventBody);
    expect(tampered).toHaveLength(eventBody.length);

    const error = await refusal(
      verifyWebhook({ body: tampered, headers, secret: SECRET }, { now: at(0) }),
    );

    expect(error.reason).toBe("mismatch");
  });

  test("refuses a body signed with another secret", async () => {
    const { body, headers } = await signed(eventBody, "wss_someone_else");

    const error = await refusal(verifyWebhook({ body, headers, secret: SECRET }, { now: at(0) }));

    expect(error.reason).toBe("mismatch");
  });

  test("uses the secret as-is, wss_ prefix included", async () => {
    const { body, headers } = await signed(eventBody, "wss_abc");

    const error = await refusal(verifyWebhook({ body, headers, secret: "abc" }, { now: at(0) }));
    expect(error.reason).toBe("mismatch");
    await expect(
      verifyWebhook({ body, headers, secret: "wss_abc" }, { now: at(0) }),
    ).resolves.toBeDefined();
  });

  test("refuses a signature over another timestamp", async () => {
    const { body, headers } = await signed();

    const error = await refusal(
      verifyWebhook(
        { body, headers: { ...headers, [TIMESTAMP_HEADER]: String(TS + 1) }, secret: SECRET },
        { now: at(0) },
      ),
    );

    expect(error.reason).toBe("mismatch");
  });

  test.each([
    [
      "the timestamp is missing",
      (h: Record<string, string>) => omit(h, TIMESTAMP_HEADER),
      "missing_headers",
    ],
    [
      "the signature is missing",
      (h: Record<string, string>) => omit(h, SIGNATURE_HEADER),
      "missing_headers",
    ],
    ["both headers are missing", () => ({}), "missing_headers"],
    [
      "the timestamp is empty",
      (h: Record<string, string>) => ({ ...h, [TIMESTAMP_HEADER]: "" }),
      "missing_headers",
    ],
    [
      "the signature is empty",
      (h: Record<string, string>) => ({ ...h, [SIGNATURE_HEADER]: "" }),
      "missing_headers",
    ],
    [
      "the timestamp is not a number",
      (h: Record<string, string>) => ({ ...h, [TIMESTAMP_HEADER]: "yesterday" }),
      "invalid_timestamp",
    ],
    [
      "the timestamp has a fraction",
      (h: Record<string, string>) => ({ ...h, [TIMESTAMP_HEADER]: `${TS}.5` }),
      "invalid_timestamp",
    ],
    [
      "the timestamp is negative",
      (h: Record<string, string>) => ({ ...h, [TIMESTAMP_HEADER]: `-${TS}` }),
      "invalid_timestamp",
    ],
    [
      "the timestamp is an ISO date",
      (h: Record<string, string>) => ({ ...h, [TIMESTAMP_HEADER]: "2024-02-12T22:32:08Z" }),
      "invalid_timestamp",
    ],
    [
      "the signature is 63 hex digits",
      (h: Record<string, string>) => ({ ...h, [SIGNATURE_HEADER]: h[SIGNATURE_HEADER]!.slice(1) }),
      "mismatch",
    ],
    [
      "the signature is 65 hex digits",
      (h: Record<string, string>) => ({ ...h, [SIGNATURE_HEADER]: `${h[SIGNATURE_HEADER]}0` }),
      "mismatch",
    ],
    [
      "the signature is 128 hex digits (SHA-512 length)",
      (h: Record<string, string>) => ({ ...h, [SIGNATURE_HEADER]: h[SIGNATURE_HEADER]!.repeat(2) }),
      "mismatch",
    ],
    [
      "the signature is base64 of the right MAC",
      (h: Record<string, string>) => ({
        ...h,
        [SIGNATURE_HEADER]: btoa(String.fromCharCode(...hexBytes(h[SIGNATURE_HEADER]!))),
      }),
      "mismatch",
    ],
    [
      "the signature has a v0= prefix",
      (h: Record<string, string>) => ({ ...h, [SIGNATURE_HEADER]: `v0=${h[SIGNATURE_HEADER]}` }),
      "mismatch",
    ],
    [
      "the signature is not hex",
      (h: Record<string, string>) => ({ ...h, [SIGNATURE_HEADER]: "z".repeat(64) }),
      "mismatch",
    ],
  ] as const)("refuses a delivery when %s", async (_name, edit, reason) => {
    const { body, headers } = await signed();

    const error = await refusal(
      verifyWebhook({ body, headers: edit(headers), secret: SECRET }, { now: at(0) }),
    );

    expect(error.reason).toBe(reason);
    expect(error.message).not.toContain(SECRET);
  });

  test("accepts an upper-case hex signature and one with surrounding spaces", async () => {
    const { body, headers } = await signed();
    const upper = { ...headers, [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER]!.toUpperCase() };
    const spaced = { ...headers, [SIGNATURE_HEADER]: ` ${headers[SIGNATURE_HEADER]} ` };
    expect(upper[SIGNATURE_HEADER]).not.toBe(headers[SIGNATURE_HEADER]);

    await expect(
      verifyWebhook({ body, headers: upper, secret: SECRET }, { now: at(0) }),
    ).resolves.toBeDefined();
    await expect(
      verifyWebhook({ body, headers: spaced, secret: SECRET }, { now: at(0) }),
    ).resolves.toBeDefined();
  });

  test.each([
    ["an empty string", ""],
    ["an empty list", []],
    ["a list of empty strings", ["", ""]],
    ["undefined (an unset env var)", undefined as unknown as string],
  ])("refuses any delivery when the secret is %s", async (_name, secret) => {
    const { body, headers } = await signed();

    const error = await refusal(verifyWebhook({ body, headers, secret }, { now: at(0) }));

    expect(error.reason).toBe("missing_secret");
  });

  test("accepts either secret during a rotation and refuses a third", async () => {
    const secrets = ["wss_old_secret", "wss_new_secret"] as const;
    for (const secret of secrets) {
      const { body, headers } = await signed(eventBody, secret);
      await expect(
        verifyWebhook({ body, headers, secret: secrets }, { now: at(0) }),
      ).resolves.toMatchObject({
        eventId: "event_1",
      });
    }
    const { body, headers } = await signed(eventBody, "wss_third_secret");

    const error = await refusal(verifyWebhook({ body, headers, secret: secrets }, { now: at(0) }));

    expect(error.reason).toBe("mismatch");
  });

  test("keeps verifying correctly after more secrets than its key cache holds", async () => {
    const secrets = Array.from({ length: 40 }, (_, i) => `wss_tenant_${i}`);
    for (const secret of [...secrets, ...secrets.slice(0, 3)]) {
      const { body, headers } = await signed(eventBody, secret);
      await expect(verifyWebhook({ body, headers, secret }, { now: at(0) })).resolves.toMatchObject(
        { eventId: "event_1" },
      );
      const other = secret === secrets[0] ? secrets[1]! : secrets[0]!;
      const error = await refusal(verifyWebhook({ body, headers, secret: other }, { now: at(0) }));
      expect(error.reason).toBe("mismatch");
    }
  });

  test.each([
    [
      "a plain object with canonical casing",
      (h: Record<string, string>) => ({
        "Content-Type": "application/json",
        "X-Extend-Request-Timestamp": h[TIMESTAMP_HEADER],
        "X-Extend-Request-Signature": h[SIGNATURE_HEADER],
      }),
    ],
    [
      "a plain object in upper case",
      (h: Record<string, string>) => ({
        "X-EXTEND-REQUEST-TIMESTAMP": h[TIMESTAMP_HEADER],
        "X-EXTEND-REQUEST-SIGNATURE": h[SIGNATURE_HEADER],
      }),
    ],
    [
      "a plain object with array values (Node's IncomingHttpHeaders)",
      (h: Record<string, string>) => ({
        host: "example.test",
        "x-extend-request-timestamp": [h[TIMESTAMP_HEADER]!],
        "X-Extend-Request-Signature": [h[SIGNATURE_HEADER]!, "ignored"],
        "x-unrelated": undefined,
      }),
    ],
    [
      "a Headers object built with mixed casing",
      (h: Record<string, string>) =>
        new Headers({
          "X-Extend-Request-Timestamp": h[TIMESTAMP_HEADER]!,
          "X-EXTEND-REQUEST-SIGNATURE": h[SIGNATURE_HEADER]!,
        }),
    ],
  ])("reads the headers from %s", async (_name, shape) => {
    const { body, headers } = await signed();

    const event = await verifyWebhook(
      { body, headers: shape(headers) as Record<string, string>, secret: SECRET },
      { now: at(0) },
    );

    expect(event.eventId).toBe("event_1");
  });

  test("verifies the exact bytes of Uint8Array and ArrayBuffer bodies", async () => {
    const bytes = new TextEncoder().encode(eventBody);
    const { headers } = await signed(eventBody);
    // A view into a larger buffer, as Node's pooled Buffers are: only the view's bytes count.
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes, 8);
    const view = padded.subarray(8, 8 + bytes.length);

    for (const body of [bytes, bytes.buffer, view]) {
      await expect(
        verifyWebhook({ body, headers, secret: SECRET }, { now: at(0) }),
      ).resolves.toEqual({
        eventId: "event_1",
        eventType: "workflow_run.completed",
        payload: run,
      });
    }
    expect(await signWebhook({ body: bytes, secret: SECRET, timestamp: TS })).toEqual(headers);
    expect(await signWebhook({ body: bytes.buffer, secret: SECRET, timestamp: TS })).toEqual(
      headers,
    );
    expect(await signWebhook({ body: view, secret: SECRET, timestamp: TS })).toEqual(headers);
  });

  test("verifies UTF-8 bodies byte for byte", async () => {
    const body = JSON.stringify({
      eventId: "event_é",
      eventType: "workflow.created",
      payload: { name: "Rechnung 🧾" },
    });
    const { headers } = await signed(body);

    await expect(
      verifyWebhook(
        { body: new TextEncoder().encode(body), headers, secret: SECRET },
        { now: at(0) },
      ),
    ).resolves.toMatchObject({ eventId: "event_é", payload: { name: "Rechnung 🧾" } });
  });

  test.each([
    ["not JSON", "eventId=event_1", /not JSON/],
    ["empty", "", /not JSON/],
    ["JSON null", "null", /not an event/],
    ["a JSON string", '"event_1"', /not an event/],
    ["a JSON array", "[]", /not an event/],
    ["an event without eventId", '{"eventType":"workflow.created","payload":{}}', /not an event/],
    [
      "an event with a numeric eventId",
      '{"eventId":1,"eventType":"workflow.created","payload":{}}',
      /not an event/,
    ],
    ["an event without eventType", '{"eventId":"event_1","payload":{}}', /not an event/],
    [
      "an event with a null payload",
      '{"eventId":"event_1","eventType":"workflow.created","payload":null}',
      /not an event/,
    ],
    [
      "an event with a string payload",
      '{"eventId":"event_1","eventType":"workflow.created","payload":"x"}',
      /not an event/,
    ],
  ])("throws WebhookParseError for a signed body that is %s", async (_name, body, message) => {
    const { headers } = await signed(body);

    const error = await verifyWebhook({ body, headers, secret: SECRET }, { now: at(0) }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(WebhookParseError);
    expect(error).not.toBeInstanceOf(WebhookSignatureError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).name).toBe("WebhookParseError");
  });

  test("checks the signature before parsing: an unsigned non-event is a signature error", async () => {
    const error = await refusal(
      verifyWebhook({ body: "not json", headers: {}, secret: SECRET }, { now: at(0) }),
    );

    expect(error.reason).toBe("missing_headers");
    expect(error.name).toBe("WebhookSignatureError");
  });
});

describe("signed-URL deliveries", () => {
  const URL_EVENT: SignedUrlWebhookEvent = {
    eventId: "event_2",
    eventType: "workflow_run.completed",
    payload: { data: "https://storage.extend.test/payloads/event_2?sig=abc" },
  };

  test.each([
    ["a signed-URL delivery", URL_EVENT, true],
    [
      "a JSON delivery",
      { eventId: "event_1", eventType: "workflow_run.completed", payload: run },
      false,
    ],
    [
      "a payload whose data is not a string",
      { eventId: "e", eventType: "workflow.created", payload: { data: 1 } },
      false,
    ],
    [
      "a payload with data and other fields",
      { eventId: "e", eventType: "workflow.created", payload: { data: "x", id: "workflow_1" } },
      false,
    ],
    ["an empty payload", { eventId: "e", eventType: "workflow.created", payload: {} }, false],
  ])("isSignedUrlEvent recognises %s", (_name, event, expected) => {
    expect(isSignedUrlEvent(event as WebhookDelivery)).toBe(expected);
  });

  test("isSignedUrlEvent narrows the delivery type", () => {
    const delivery = URL_EVENT as WebhookDelivery;
    if (isSignedUrlEvent(delivery)) expectTypeOf(delivery.payload.data).toEqualTypeOf<string>();
    else expectTypeOf(delivery).toEqualTypeOf<WebhookEvent>();
  });

  test("a verified signed-URL delivery is recognised", async () => {
    const { body, headers } = await signed(JSON.stringify(URL_EVENT));

    const event = await verifyWebhook({ body, headers, secret: SECRET }, { now: at(0) });

    expect(isSignedUrlEvent(event)).toBe(true);
  });

  test("fetchSignedPayload downloads the payload and answers the full event", async () => {
    const fetch = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) =>
      Response.json(run),
    );

    const event = await fetchSignedPayload(URL_EVENT, { fetch: fetch as typeof globalThis.fetch });

    expect(event).toEqual({
      eventId: "event_2",
      eventType: "workflow_run.completed",
      payload: run,
    });
    expectTypeOf(event).toEqualTypeOf<WebhookEvent>();
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(String(fetch.mock.calls[0]![0])).toBe(URL_EVENT.payload.data);
    expect(fetch.mock.calls[0]![1]?.signal).toBeInstanceOf(AbortSignal);
  });

  test.each([
    ["workflow_run.step_run.processed", { object: "step_run", id: "step_run_1" }],
    ["processor_run.processed", { object: "document_processor_run", id: "dpr_1" }],
    ["parser_run.processed", { object: "parser_run_status", id: "parser_run_1" }],
    ["parser_run.failed", { id: "parser_run_1", status: "FAILED" }],
    ["workflow.deployed", { object: "workflow", id: "workflow_1" }],
    ["processor.created", { object: "document_processor", id: "dp_1" }],
  ])("fetchSignedPayload accepts a %s payload of its kind", async (eventType, payload) => {
    const event = { ...URL_EVENT, eventType } as SignedUrlWebhookEvent;

    await expect(
      fetchSignedPayload(event, { fetch: async () => Response.json(payload) }),
    ).resolves.toEqual({
      eventId: "event_2",
      eventType,
      payload,
    });
  });

  test("an expired URL (404) is a WebhookParseError that mentions the expiry", async () => {
    const error = await fetchSignedPayload(URL_EVENT, {
      fetch: async () => new Response("<Error>AccessDenied</Error>", { status: 404 }),
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WebhookParseError);
    expect((error as Error).message).toMatch(/404/);
    expect((error as Error).message).toMatch(/expired/);
    expect((error as Error).message).toContain("event_2");
  });

  test.each([
    ["not JSON", () => new Response("<html>", { status: 200 }), /not JSON/],
    ["JSON null", () => Response.json(null), /not a workflow_run object/],
    ["a JSON string", () => Response.json("workflow_run"), /not a workflow_run object/],
    [
      "a processor run for a workflow_run event",
      () => Response.json({ object: "document_processor_run", id: "dpr_1" }),
      /not a workflow_run object/,
    ],
    [
      "an object without `object`",
      () => Response.json({ id: "workflow_run_1" }),
      /not a workflow_run object/,
    ],
  ])("a downloaded payload that is %s is a WebhookParseError", async (_name, reply, message) => {
    const error = await fetchSignedPayload(URL_EVENT, { fetch: async () => reply() }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(WebhookParseError);
    expect((error as Error).message).toMatch(message);
  });

  test("a network failure of the download is passed on", async () => {
    const failure = new TypeError("fetch failed");

    await expect(
      fetchSignedPayload(URL_EVENT, {
        fetch: async () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
  });
});

function omit(headers: Record<string, string>, name: string): Record<string, string> {
  const { [name]: _, ...rest } = headers;
  return rest;
}

function hexBytes(hex: string): number[] {
  return hex.match(/../g)!.map((h) => Number.parseInt(h, 16));
}
