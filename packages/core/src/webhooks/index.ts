/**
 * `@extendkit/core/webhooks`: verify and sign Extend webhook deliveries with Web Crypto
 * only, so it runs on Node, Edge runtimes, Workers and Deno alike.
 *
 * @example
 * ```ts
 * import { fetchSignedPayload, isSignedUrlEvent, verifyWebhook } from "@extendkit/core/webhooks";
 *
 * const event = await verifyWebhook({
 *   body: await request.text(), // the raw body, exactly as received
 *   headers: request.headers,
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 * });
 * // Large payloads arrive as a signed URL: fetch them (or use the handlers, which do).
 * const full = isSignedUrlEvent(event) ? await fetchSignedPayload(event) : event;
 * if (full.eventType === "workflow_run.completed") console.log(full.payload.id);
 * ```
 *
 * @packageDocumentation
 */
import { ExtendKitError } from "../errors.js";
import type { components } from "../generated/extend-api.js";

/** A delivery in JSON format; narrow on `eventType` for a typed payload. */
export type WebhookEvent = components["schemas"]["WebhookEvent"];
/** A delivery whose payload was replaced by a signed download URL. */
export type SignedUrlWebhookEvent = components["schemas"]["SignedUrlWebhookEvent"];
/** Any delivery. */
export type WebhookDelivery = WebhookEvent | SignedUrlWebhookEvent;
/** Every event type of this API version. */
export type WebhookEventType = components["schemas"]["WebhookEventType"];

/** The header carrying a delivery's signing time, in Unix seconds. */
export const TIMESTAMP_HEADER = "x-extend-request-timestamp";
/** The header carrying a delivery's v0 signature, as lower-case hex. */
export const SIGNATURE_HEADER = "x-extend-request-signature";

/** Why a delivery's signature was refused. */
export type SignatureProblem =
  | "missing_secret"
  | "missing_headers"
  | "invalid_timestamp"
  | "too_old"
  | "in_future"
  | "mismatch";

/**
 * The delivery is not signed by any of the secrets, or its signature is stale: answer 401.
 *
 * @example
 * ```ts
 * async function receive(request: Request): Promise<Response> {
 *   const body = await request.text();
 *   try {
 *     await verifyWebhook({ body, headers: request.headers, secret: process.env.EXTEND_WEBHOOK_SECRET! });
 *   } catch (error) {
 *     if (error instanceof WebhookSignatureError) return new Response(error.reason, { status: 401 });
 *     throw error;
 *   }
 *   return new Response("ok");
 * }
 * ```
 */
export class WebhookSignatureError extends ExtendKitError {
  constructor(
    /** Why the signature was refused. */
    readonly reason: SignatureProblem,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The delivery is signed but its body is not an event: answer 400. Also thrown by
 * {@link fetchSignedPayload} when a signed payload cannot be fetched or read.
 *
 * @example
 * ```ts
 * async function receive(request: Request): Promise<Response> {
 *   const body = await request.text();
 *   try {
 *     await verifyWebhook({ body, headers: request.headers, secret: process.env.EXTEND_WEBHOOK_SECRET! });
 *   } catch (error) {
 *     if (error instanceof WebhookParseError) return new Response("Not an event", { status: 400 });
 *     throw error;
 *   }
 *   return new Response("ok");
 * }
 * ```
 */
export class WebhookParseError extends ExtendKitError {}

/**
 * How strictly {@link verifyWebhook} checks a delivery's timestamp.
 *
 * @example
 * ```ts
 * const event = await verifyWebhook(
 *   { body, headers: request.headers, secret },
 *   { maxAgeSeconds: 120, maxFutureSeconds: 10 },
 * );
 * ```
 */
export interface VerifyOptions {
  /**
   * Oldest timestamp accepted, in seconds before now; `0` disables the check.
   * @default 300
   */
  maxAgeSeconds?: number;
  /**
   * Newest timestamp accepted, in seconds after now (clock skew).
   * @default 60
   */
  maxFutureSeconds?: number;
  /**
   * The current time in milliseconds, for tests.
   * @default Date.now
   */
  now?: () => number;
}

/**
 * Request headers as Web `Headers` or as Node's plain object (`req.headers`); names are
 * matched case-insensitively.
 */
export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function")
    return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(
    headers as Record<string, string | string[] | undefined>,
  )) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

const encoder = new TextEncoder();
/** Imported HMAC keys by secret; a few secrets (a rotation) is the norm, so it stays small. */
const keys = new Map<string, Promise<CryptoKey>>();
const MAX_KEYS = 16;

function hmacKey(secret: string) {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    // Bounded, so a caller passing many distinct secrets cannot grow it without limit.
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value as string);
    keys.set(secret, key);
  }
  return key;
}

function bytesOf(body: string | Uint8Array | ArrayBuffer): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : new Uint8Array(body);
}

function signedContent(timestamp: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`v0:${timestamp}:`);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}

/**
 * Verifies a delivery against its raw body, headers and secret(s) (several during a
 * rotation), then parses it. The signature is v0 HMAC-SHA256 of `v0:{timestamp}:{body}`,
 * lower-case hex, compared in constant time; timestamps older than `maxAgeSeconds` or
 * further ahead than `maxFutureSeconds` are refused.
 *
 * @throws {WebhookSignatureError} missing headers or secret, a bad or stale signature.
 * @throws {WebhookParseError} a signed body that is not an event.
 * @example
 * ```ts
 * const event = await verifyWebhook({
 *   body: rawBody,
 *   headers: req.headers,
 *   secret: [process.env.NEW_WEBHOOK_SECRET!, process.env.OLD_WEBHOOK_SECRET!], // while rotating
 * });
 * ```
 */
export async function verifyWebhook(
  input: {
    body: string | Uint8Array | ArrayBuffer;
    headers: HeadersLike;
    secret: string | readonly string[];
  },
  options: VerifyOptions = {},
): Promise<WebhookDelivery> {
  // `?? []`: an unset env var (`process.env.X!`) is refused as missing, not a TypeError.
  const secrets = (typeof input.secret === "string" ? [input.secret] : (input.secret ?? [])).filter(
    Boolean,
  );
  if (secrets.length === 0)
    throw new WebhookSignatureError(
      "missing_secret",
      "No webhook secret given: pass the endpoint's signing secret (wss_...).",
    );
  const timestamp = header(input.headers, TIMESTAMP_HEADER);
  const signature = header(input.headers, SIGNATURE_HEADER)?.trim().toLowerCase();
  if (!timestamp || !signature) {
    throw new WebhookSignatureError(
      "missing_headers",
      `The delivery lacks the ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} header; it was not sent by Extend.`,
    );
  }
  if (!/^\d+$/.test(timestamp))
    throw new WebhookSignatureError(
      "invalid_timestamp",
      `${TIMESTAMP_HEADER} must be Unix seconds; got "${timestamp}".`,
    );
  const age = (options.now ?? Date.now)() / 1000 - Number(timestamp);
  const maxAge = options.maxAgeSeconds ?? 300;
  if (maxAge > 0 && age > maxAge)
    throw new WebhookSignatureError(
      "too_old",
      `The delivery is ${Math.round(age)} s old; at most ${maxAge} s is accepted.`,
    );
  if (-age > (options.maxFutureSeconds ?? 60))
    throw new WebhookSignatureError(
      "in_future",
      `The delivery is dated ${Math.round(-age)} s in the future; check the server clock.`,
    );
  const given = /^[0-9a-f]{64}$/.test(signature)
    ? new Uint8Array(signature.match(/../g)?.map((h) => Number.parseInt(h, 16)) ?? [])
    : undefined;
  const bytes = bytesOf(input.body);
  const content = signedContent(timestamp, bytes);
  let valid = false;
  if (given) {
    for (const secret of secrets) {
      // crypto.subtle.verify compares in constant time.
      if (await crypto.subtle.verify("HMAC", await hmacKey(secret), given, content)) valid = true;
    }
  }
  if (!valid) {
    throw new WebhookSignatureError(
      "mismatch",
      "The signature does not match: check the secret, and verify the raw body exactly as received (not re-serialized JSON).",
    );
  }
  let event: unknown;
  try {
    event = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new WebhookParseError("The delivery is signed but its body is not JSON.");
  }
  const e = event as Record<string, unknown>;
  if (
    typeof e?.eventId !== "string" ||
    typeof e.eventType !== "string" ||
    typeof e.payload !== "object" ||
    e.payload === null
  ) {
    throw new WebhookParseError(
      "The delivery is signed but is not an event { eventId, eventType, payload }.",
    );
  }
  return event as WebhookDelivery;
}

/**
 * Signs a body as Extend does, for your own tests: answers the headers to send with it.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ eventId: "event_1", eventType: "workflow_run.completed", payload: run });
 * const headers = await signWebhook({ body, secret: "wss_test" });
 * await fetch("http://127.0.0.1:3000/webhooks/extend", { method: "POST", body, headers });
 * ```
 */
export async function signWebhook(input: {
  body: string | Uint8Array | ArrayBuffer;
  secret: string;
  timestamp?: number;
}): Promise<Record<string, string>> {
  const timestamp = String(input.timestamp ?? Math.floor(Date.now() / 1000));
  const mac = new Uint8Array(
    await crypto.subtle.sign(
      "HMAC",
      await hmacKey(input.secret),
      signedContent(timestamp, bytesOf(input.body)),
    ),
  );
  return {
    "content-type": "application/json",
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(""),
  };
}

/**
 * Whether a delivery carries a signed URL in place of its payload.
 *
 * @example
 * ```ts
 * if (isSignedUrlEvent(event)) console.log("payload at", event.payload.data);
 * ```
 */
export function isSignedUrlEvent(event: WebhookDelivery): event is SignedUrlWebhookEvent {
  const payload = event.payload as Record<string, unknown>;
  return typeof payload.data === "string" && Object.keys(payload).length === 1;
}

/**
 * Downloads the payload of a signed-URL delivery (the URL is valid for an hour) and answers
 * the event with its payload in place, checked to be an object of the event's kind.
 *
 * @example
 * ```ts
 * const full = isSignedUrlEvent(event) ? await fetchSignedPayload(event) : event;
 * ```
 */
export async function fetchSignedPayload(
  event: SignedUrlWebhookEvent,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Promise<WebhookEvent> {
  const response = await (options.fetch ?? fetch)(event.payload.data, {
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  if (!response.ok)
    throw new WebhookParseError(
      `Fetching the signed payload of ${event.eventId} answered ${response.status}; the URL may have expired (1 hour).`,
    );
  let payload: unknown;
  try {
    payload = await response.json();
  } catch {
    throw new WebhookParseError(`The signed payload of ${event.eventId} is not JSON.`);
  }
  const kind = event.eventType.split(".")[0];
  const object = (payload as { object?: unknown } | null)?.object;
  const expected: Record<string, string> = {
    workflow_run: "workflow_run",
    processor_run: "document_processor_run",
    parser_run: "parser_run_status",
    workflow: "workflow",
  };
  // A parser_run.* payload may come without `object` (the vendor's client types it so), and
  // a step_run payload is a StepRun, not a WorkflowRun.
  const fits =
    typeof payload === "object" &&
    payload !== null &&
    (!kind ||
      !Object.hasOwn(expected, kind) ||
      object === expected[kind] ||
      (kind === "parser_run" && object === undefined) ||
      event.eventType === "workflow_run.step_run.processed");
  if (!fits)
    throw new WebhookParseError(`The signed payload of ${event.eventId} is not a ${kind} object.`);
  return { eventId: event.eventId, eventType: event.eventType, payload } as WebhookEvent;
}
