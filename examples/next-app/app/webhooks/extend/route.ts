import { createWebhookHandler } from "@extendkit/next";
import { recordEvent } from "../../../lib/webhook-events";

// Verified deliveries only: a wrong signature is answered 401 before any handler runs.
export const { POST } = createWebhookHandler({
  secret: process.env.EXTEND_WEBHOOK_SECRET ?? "",
  onEvent: (event) => recordEvent(event),
  onError: (error) => console.error("Extend webhook:", error),
});
