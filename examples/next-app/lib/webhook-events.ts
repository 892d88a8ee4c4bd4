import type { WebhookEvent } from "@extendkit/core";

/** A verified webhook delivery, as the run page shows it. */
export interface ReceivedEvent {
  eventId: string;
  eventType: WebhookEvent["eventType"];
  status: string | undefined;
  receivedAt: string;
}

// Route bundles may each load this module, so the store hangs off globalThis: one per
// server process. A real app would write to its database here.
const shared = globalThis as { extendWebhookEvents?: Map<string, ReceivedEvent[]> };
shared.extendWebhookEvents ??= new Map();
const events = shared.extendWebhookEvents;

/** Records a verified event under the workflow run it is about. */
export function recordEvent(event: WebhookEvent): void {
  const payload = event.payload as { object?: string; id?: string; status?: string };
  if (payload.object !== "workflow_run" || !payload.id) return;
  const list = events.get(payload.id) ?? [];
  list.push({
    eventId: event.eventId,
    eventType: event.eventType,
    status: payload.status,
    receivedAt: new Date().toISOString(),
  });
  events.set(payload.id, list);
}

/** The verified events received for a workflow run, oldest first. */
export function eventsFor(runId: string): ReceivedEvent[] {
  return events.get(runId) ?? [];
}
