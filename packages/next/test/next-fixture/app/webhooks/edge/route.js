import { createWebhookHandler } from "../../../../../dist/index.js";

export const runtime = "edge";
export const { POST } = createWebhookHandler({
  secret: process.env.EXTEND_WEBHOOK_SECRET ?? "",
  onEvent: (event) => console.log(`verified on edge: ${event.eventId}`),
});
