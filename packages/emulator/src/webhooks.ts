import { createHmac } from "node:crypto";
import type { Schemas } from "@extendkit/core";
import type { EventScope } from "./context.js";
import { badRequest, notFound } from "./errors.js";
import { newId, PREFIX } from "./ids.js";
import type { ResolvedOptions } from "./options.js";
import type { Store } from "./store.js";

type EventType = Schemas["WebhookEventType"];

/** A webhook endpoint, configured through the seed or the admin API (not part of the Extend API). */
export interface WebhookEndpoint {
  /** The endpoint's id. */
  id: string;
  /** The absolute http(s) URL deliveries are POSTed to. */
  url: string;
  /** Signing secret, `wss_...`; generated when not given. */
  secret: string;
  /** Event types to deliver; all of them when absent. */
  events?: EventType[];
  /** Deliver run events only for these workflows / processors (per-workflow subscriptions). */
  workflowIds?: string[];
  /** Deliver processor run events only for these processors. */
  processorIds?: string[];
  /** `signed_url` replaces every payload by `{ data: <url> }`; with `json`, only payloads over the threshold. */
  format: "json" | "signed_url";
  /** With `json`, payloads larger than this many bytes are sent as a signed URL. */
  signedUrlThresholdBytes?: number;
  /** When the endpoint was created (ISO 8601). */
  createdAt: string;
}

/**
 * A webhook endpoint to create (in a seed document or through `POST /_emulator/webhook_endpoints`):
 * a {@link WebhookEndpoint} whose id, secret and format may be left out.
 */
export type WebhookEndpointInput = Omit<
  WebhookEndpoint,
  "id" | "secret" | "createdAt" | "format"
> & {
  /** The endpoint's id; generated when absent. */
  id?: string;
  /** The signing secret (`wss_...`); generated when absent. */
  secret?: string;
  /** How payloads are sent. @default "json" */
  format?: "json" | "signed_url";
};

/** One attempt at delivering an event to an endpoint. */
export interface DeliveryAttempt {
  /** The attempt's number, 1 for the first. */
  attempt: number;
  /** When the attempt ended (ISO 8601). */
  at: string;
  /** The HTTP status the receiver answered, or `null` when it did not answer. */
  status: number | null;
  /** Why the attempt failed (a non-2xx status, a timeout, a network error), or `null` when it succeeded. */
  error: string | null;
  /** How long the attempt took, in milliseconds. */
  durationMs: number;
}

/**
 * One event's delivery to one endpoint, with its attempts, as the admin API lists them
 * (`GET /_emulator/webhook_deliveries`).
 */
export interface Delivery {
  /** The delivery's id. */
  id: string;
  /** The event's id; every attempt sends the same one. */
  eventId: string;
  /** The event's type, such as `workflow_run.completed`. */
  eventType: EventType;
  /** The endpoint it goes to. */
  endpointId: string;
  /** `pending` (to be tried, or tried again), `delivered` (answered 2xx) or `failed` (retries spent). */
  state: "pending" | "delivered" | "failed";
  /** Every attempt so far, oldest first. */
  attempts: DeliveryAttempt[];
  /** When the next attempt is due (ISO 8601), or `null` unless `pending`. */
  nextAttemptAt: string | null;
  /** When the event was queued for this endpoint (ISO 8601). */
  createdAt: string;
}

/**
 * The v0 signature: lower-case hex HMAC-SHA256 of `v0:{timestamp}:{body}`, keyed by the secret as-is.
 * Use it to send signed test deliveries to your own receiver.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ eventId: "evt_1", eventType: "workflow.created", payload: { id: "workflow_1" } });
 * const timestamp = Math.floor(Date.now() / 1000);
 * await fetch("http://127.0.0.1:3000/webhooks/extend", {
 *   method: "POST",
 *   body,
 *   headers: {
 *     "content-type": "application/json",
 *     "x-extend-request-timestamp": String(timestamp),
 *     "x-extend-request-signature": signWebhook("wss_test", timestamp, body),
 *   },
 * });
 * ```
 */
export function signWebhook(secret: string, timestamp: number | string, body: string): string {
  return createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex");
}

const GLOBAL = /^(workflow|processor)\./;

interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: EventType;
  endpoint_id: string;
  body: string;
  state: Delivery["state"];
  attempts: number;
  next_attempt_at: number;
  created_at: string;
}

interface AttemptRow {
  attempt: number;
  at: string;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

/**
 * Delivers events to endpoints: one delivery per (event, endpoint), kept in SQLite, tried
 * until a 2xx within the timeout, retried on the schedule with the same eventId.
 */
export class Webhooks {
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Map<string, AbortController>();
  private running = false;

  constructor(
    private readonly store: Store,
    private readonly options: ResolvedOptions["webhooks"],
    private readonly payloadUrl: (deliveryId: string) => string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  start() {
    this.running = true;
    this.schedule();
  }

  async stop() {
    this.running = false;
    clearTimeout(this.timer);
    for (const controller of this.inFlight.values()) controller.abort();
    while (this.inFlight.size) await new Promise((r) => setTimeout(r, 5));
  }

  createEndpoint(input: WebhookEndpointInput): WebhookEndpoint {
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw badRequest(`url must be an absolute http(s) URL; got ${JSON.stringify(input.url)}.`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw badRequest("url must use http or https.");
    const endpoint: WebhookEndpoint = {
      ...input,
      id: input.id ?? newId(PREFIX.webhookEndpoint),
      secret: input.secret ?? newId(PREFIX.webhookSecret),
      format: input.format ?? "json",
      createdAt: new Date().toISOString(),
    };
    this.store
      .sql("INSERT OR REPLACE INTO webhook_endpoints (id, created_at, data) VALUES (?, ?, ?)")
      .run(endpoint.id, endpoint.createdAt, JSON.stringify(endpoint));
    return endpoint;
  }

  endpoints(): WebhookEndpoint[] {
    return (
      this.store.sql("SELECT data FROM webhook_endpoints ORDER BY created_at").all() as {
        data: string;
      }[]
    ).map((r) => JSON.parse(r.data));
  }

  deleteEndpoint(id: string) {
    if (this.store.sql("DELETE FROM webhook_endpoints WHERE id = ?").run(id).changes === 0)
      throw notFound("Webhook endpoint", id);
  }

  /** Records one delivery per subscribed endpoint; answers the event id. */
  emit(type: EventType, payload: unknown, scope: EventScope = {}): string {
    const eventId = newId(PREFIX.event);
    const body = JSON.stringify({ eventId, eventType: type, payload });
    const now = new Date();
    for (const endpoint of this.endpoints()) {
      if (endpoint.events && !endpoint.events.includes(type)) continue;
      // Per-workflow and per-processor subscriptions scope run events; global events go to all.
      if (!GLOBAL.test(type)) {
        if (
          endpoint.workflowIds &&
          !(scope.workflowId && endpoint.workflowIds.includes(scope.workflowId))
        )
          continue;
        if (
          endpoint.processorIds &&
          !(scope.processorId && endpoint.processorIds.includes(scope.processorId))
        )
          continue;
      }
      this.store
        .sql(
          `INSERT INTO webhook_deliveries (id, event_id, event_type, endpoint_id, body, state, attempts, next_attempt_at, created_at, updated_at, seq)
           VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
        )
        .run(
          newId("whd_"),
          eventId,
          type,
          endpoint.id,
          body,
          this.options.now(),
          now.toISOString(),
          now.toISOString(),
          this.store.nextSeq(),
        );
    }
    if (this.running) queueMicrotask(() => this.schedule());
    return eventId;
  }

  deliveries(
    filter: { eventId?: string; endpointId?: string; eventType?: string; state?: string } = {},
  ): Delivery[] {
    const clauses: string[] = [];
    const values: unknown[] = [];
    for (const [key, column] of [
      ["eventId", "event_id"],
      ["endpointId", "endpoint_id"],
      ["eventType", "event_type"],
      ["state", "state"],
    ] as const) {
      if (filter[key]) {
        clauses.push(`${column} = ?`);
        values.push(filter[key]);
      }
    }
    const rows = this.store
      .sql(
        `SELECT * FROM webhook_deliveries ${clauses.length ? `WHERE ${clauses.join(" AND ")}` : ""} ORDER BY seq`,
      )
      .all(...values) as DeliveryRow[];
    return rows.map((row) => ({
      id: row.id,
      eventId: row.event_id,
      eventType: row.event_type,
      endpointId: row.endpoint_id,
      state: row.state,
      attempts: (
        this.store
          .sql("SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt")
          .all(row.id) as AttemptRow[]
      ).map((a) => ({
        attempt: a.attempt,
        at: a.at,
        status: a.status,
        error: a.error,
        durationMs: a.duration_ms,
      })),
      nextAttemptAt: row.state === "pending" ? new Date(row.next_attempt_at).toISOString() : null,
      createdAt: row.created_at,
    }));
  }

  /** The body of a delivery's event, for the signed-URL download. */
  payloadOf(deliveryId: string): unknown {
    const row = this.store
      .sql("SELECT body FROM webhook_deliveries WHERE id = ?")
      .get(deliveryId) as { body: string } | undefined;
    if (!row) throw notFound("Webhook delivery", deliveryId);
    return JSON.parse(row.body).payload;
  }

  /** Sends a delivery again now (a manual retry), whatever its state. */
  redeliver(deliveryId: string) {
    const changed = this.store
      .sql("UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ? WHERE id = ?")
      .run(this.options.now(), deliveryId).changes;
    if (!changed) throw notFound("Webhook delivery", deliveryId);
    this.schedule();
  }

  private schedule() {
    if (!this.running) return;
    clearTimeout(this.timer);
    const next = this.store
      .sql("SELECT MIN(next_attempt_at) AS at FROM webhook_deliveries WHERE state = 'pending'")
      .get() as { at: number | null };
    if (next.at === null) return;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next.at - this.options.now()));
    this.timer.unref?.();
  }

  private tick() {
    const due = this.store
      .sql(
        "SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 32",
      )
      .all(this.options.now()) as { id: string }[];
    for (const { id } of due) {
      if (!this.inFlight.has(id)) void this.attempt(id);
    }
    // Deliveries in flight are rescheduled when their attempt ends.
    const later = this.store
      .sql(
        "SELECT MIN(next_attempt_at) AS at FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at > ?",
      )
      .get(this.options.now()) as { at: number | null };
    if (later.at !== null && this.running) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.tick(), Math.max(0, later.at - this.options.now()));
      this.timer.unref?.();
    }
  }

  private async attempt(id: string) {
    const row = this.store.sql("SELECT * FROM webhook_deliveries WHERE id = ?").get(id) as
      | DeliveryRow
      | undefined;
    const endpoint = this.endpoints().find((e) => e.id === row?.endpoint_id);
    if (!row || !endpoint) {
      this.store.sql("UPDATE webhook_deliveries SET state = 'failed' WHERE id = ?").run(id);
      return;
    }
    const controller = new AbortController();
    this.inFlight.set(id, controller);
    const attempt = row.attempts + 1;
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const body = this.bodyFor(endpoint, id, row.body);
      const timestamp = Math.floor(Date.now() / 1000);
      const timeout = AbortSignal.timeout(this.options.timeoutMs);
      const response = await fetch(endpoint.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "extendkit-emulator-webhooks",
          "x-extend-request-timestamp": String(timestamp),
          "x-extend-request-signature": signWebhook(endpoint.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.any([controller.signal, timeout]),
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) error = `HTTP ${response.status}`;
    } catch (e) {
      error =
        (e as Error).name === "TimeoutError"
          ? `no answer within ${this.options.timeoutMs} ms`
          : (e as Error).message;
    } finally {
      this.inFlight.delete(id);
    }
    if (controller.signal.aborted) return; // stopping: the delivery stays pending and resumes at the next start
    const durationMs = Math.round((performance.now() - started) * 100) / 100;
    const delivered = error === null;
    const delay = this.options.retryDelaysMs[attempt - 1];
    const state = delivered ? "delivered" : delay === undefined ? "failed" : "pending";
    this.store.transaction(() => {
      this.store
        .sql(
          "INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .run(id, attempt, new Date().toISOString(), status, error, durationMs);
      this.store
        .sql(
          "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
        )
        .run(state, attempt, this.options.now() + (delay ?? 0), new Date().toISOString(), id);
    });
    this.log(
      `webhook ${row.event_type} ${row.event_id} → ${endpoint.url}: attempt ${attempt} ${delivered ? "delivered" : `failed (${error})`}${state === "pending" ? `, retry in ${delay} ms` : ""}`,
    );
    this.schedule();
  }

  private bodyFor(endpoint: WebhookEndpoint, deliveryId: string, body: string): string {
    const tooBig =
      endpoint.signedUrlThresholdBytes !== undefined &&
      Buffer.byteLength(body) > endpoint.signedUrlThresholdBytes;
    if (endpoint.format !== "signed_url" && !tooBig) return body;
    const { eventId, eventType } = JSON.parse(body) as { eventId: string; eventType: string };
    return JSON.stringify({ eventId, eventType, payload: { data: this.payloadUrl(deliveryId) } });
  }
}
