import { createWebhookHandler } from "../../../../../dist/index.js";

export const { POST } = createWebhookHandler({
  secret: process.env.EXTEND_WEBHOOK_SECRET ?? "",
  onEvent: (event) => console.log(`verified on node: ${event.eventId}`),
});
