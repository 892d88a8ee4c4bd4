import {
  fetchSignedPayload,
  isSignedUrlEvent,
  type SignedUrlWebhookEvent,
  type VerifyOptions,
  verifyWebhook,
  type WebhookEvent,
  type WebhookEventType,
  WebhookParseError,
  WebhookSignatureError,
} from "../webhooks/index.js";
import { BodyTooLargeError, badHost, json, readBody } from "./body.js";
import { createMemoryDedupeStore, type DedupeStore } from "./dedupe.js";

/** The event of one type, its payload typed. */
export type EventOf<T extends WebhookEventType> = WebhookEvent extends infer E
  ? E extends {
      /** The event type of one member of the {@link WebhookEvent} union. */
      eventType: infer U;
    }
    ? T extends U
      ? Omit<E, "eventType"> & {
          /** The event's type, narrowed to `T`. */
          eventType: T;
        }
      : never
    : never
  : never;

/** What a handler gets besides the event: the request it came in. */
export interface WebhookContext {
  /** The request that delivered the event (its body already read). */
  request: Request;
}

/** Handlers by event type; each receives its event with a typed payload. */
export type WebhookHandlers = {
  [T in WebhookEventType]?: (
    event: EventOf<T>,
    context: WebhookContext,
  ) => unknown | Promise<unknown>;
};

/**
 * Options of {@link createWebhookHandler}, shared by the Express and Next adapters.
 *
 * @example
 * ```ts
 * const options: WebhookHandlerOptions = {
 *   secret: [process.env.EXTEND_WEBHOOK_SECRET!, process.env.EXTEND_WEBHOOK_SECRET_OLD!],
 *   on: { "workflow_run.completed": (event) => console.log(event.payload.id) },
 *   onEvent: (event) => console.log("received", event.eventType),
 *   dedupe: createMemoryDedupeStore({ ttlMs: 60 * 60 * 1000 }),
 *   onError: (error) => console.error("webhook failed", error),
 * };
 * const handle = createWebhookHandler(options);
 * ```
 */
export interface WebhookHandlerOptions {
  /** The endpoint's signing secret(s) (`wss_...`); pass several during a rotation. */
  secret: string | readonly string[];
  /** Handlers by event type: the object's own properties (inherited ones never run). */
  on?: WebhookHandlers;
  /** Called for every event (after its typed handler, if any). */
  onEvent?: (event: WebhookEvent, context: WebhookContext) => unknown | Promise<unknown>;
  /**
   * Where handled event ids are remembered, so redeliveries are acknowledged without being
   * handled twice; `false` turns deduplication off.
   * @default an in-memory store remembering ids for 24 hours
   */
  dedupe?: DedupeStore | false;
  /**
   * Largest body accepted; larger deliveries get 413 (large payloads come as signed URLs).
   * @default 5242880 (5 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Download the payload of signed-URL deliveries before handing them to the handlers.
   * With `false`, such deliveries go to `onSignedUrl` only (neither `on` nor `onEvent`
   * sees them); without an `onSignedUrl` they are answered 500 and reported to `onError`,
   * so Extend redelivers rather than the event being lost.
   * @default true
   */
  resolveSignedUrls?: boolean;
  /** Receives signed-URL deliveries when `resolveSignedUrls` is `false`. */
  onSignedUrl?: (
    event: SignedUrlWebhookEvent,
    context: WebhookContext,
  ) => unknown | Promise<unknown>;
  /** Timestamp tolerance; see `verifyWebhook`. */
  verify?: VerifyOptions;
  /** Called with any error, for your logs; answers never include error details. */
  onError?: (error: unknown, event?: WebhookEvent) => void;
  /** The `fetch` used to download signed-URL payloads. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * A webhook receiver as a `(Request) => Promise<Response>`: it verifies the signature over
 * the raw body, ignores redeliveries of handled events, downloads signed-URL payloads,
 * calls the handler for the event's type and answers 200 once it is done. Bad or unsigned
 * deliveries get 400/401, other methods 405, oversized bodies 413, a failing handler 500
 * (so Extend redelivers) with no details in the answer.
 *
 * @example
 * ```ts
 * const handle = createWebhookHandler({
 *   secret: process.env.EXTEND_WEBHOOK_SECRET!,
 *   on: {
 *     "workflow_run.completed": async (event) => save(event.payload.id, event.payload.outputs),
 *     "workflow_run.failed": (event) => alert(event.payload.failureMessage),
 *   },
 * });
 * // In any Web-standard server: export default { fetch: handle };
 * ```
 */
export function createWebhookHandler(
  options: WebhookHandlerOptions,
): (request: Request) => Promise<Response> {
  const dedupe =
    options.dedupe === false ? undefined : (options.dedupe ?? createMemoryDedupeStore());
  const maxBodyBytes = options.maxBodyBytes ?? 5 * 1024 * 1024;
  const report = (error: unknown, event?: WebhookEvent) => {
    try {
      options.onError?.(error, event);
    } catch {
      // A failing error reporter must not change the answer.
    }
  };

  return async (request) => {
    if (badHost(request)) return json(400, { error: "Malformed Host header." });
    if (request.method !== "POST")
      return json(405, { error: "Method not allowed: webhooks are POSTed." }, { allow: "POST" });
    let body: Uint8Array;
    try {
      body = await readBody(request, maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError)
        return json(413, { error: `Body larger than ${maxBodyBytes} bytes.` });
      report(error);
      return json(400, { error: "The body could not be read." });
    }
    let delivery: Awaited<ReturnType<typeof verifyWebhook>>;
    try {
      delivery = await verifyWebhook(
        { body, headers: request.headers, secret: options.secret },
        options.verify,
      );
    } catch (error) {
      report(error);
      if (error instanceof WebhookSignatureError)
        return json(401, { error: "Webhook signature verification failed.", reason: error.reason });
      if (error instanceof WebhookParseError)
        return json(400, { error: "The delivery is not a valid event." });
      return json(500, { error: "Webhook verification failed." });
    }
    let event = delivery as WebhookEvent;
    const failed = () =>
      json(500, { error: "The webhook could not be handled; it will be redelivered." });
    let claimed = true;
    try {
      // A failing store (Redis down) is a 500, so Extend redelivers, not a rejected promise.
      if (dedupe) claimed = await dedupe.claim(delivery.eventId);
    } catch (error) {
      report(error, event);
      return failed();
    }
    if (!claimed) return json(200, { received: true, duplicate: true });
    try {
      const context = { request };
      if (isSignedUrlEvent(delivery)) {
        if (options.resolveSignedUrls === false) {
          if (!options.onSignedUrl)
            throw new Error(
              "A signed-URL delivery arrived with resolveSignedUrls: false and no onSignedUrl handler; pass onSignedUrl or drop resolveSignedUrls: false.",
            );
          await options.onSignedUrl(delivery, context);
          return json(200, { received: true });
        }
        event = await fetchSignedPayload(delivery, options.fetch ? { fetch: options.fetch } : {});
      }
      // Own handlers only: an event type such as `constructor` or `__proto__` must not
      // find a function on Object.prototype.
      const on = options.on;
      const typed =
        on && Object.hasOwn(on, event.eventType)
          ? (on[event.eventType] as (e: WebhookEvent, c: WebhookContext) => unknown)
          : undefined;
      await typed?.(event, context);
      await options.onEvent?.(event, context);
      return json(200, { received: true });
    } catch (error) {
      report(error, event);
      try {
        await dedupe?.release(delivery.eventId);
      } catch (releaseError) {
        report(releaseError, event);
      }
      return failed();
    }
  };
}
