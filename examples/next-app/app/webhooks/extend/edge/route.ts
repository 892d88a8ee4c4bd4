import { createWebhookHandler } from "@extendkit/next";

// The same receiver on the Edge runtime (Web Crypto, no Node APIs). The emulator delivers
// every event here too; the Edge sandbox cannot share memory with the Node routes, so this
// one only logs what it verified.
export const runtime = "edge";

export const { POST } = createWebhookHandler({
  secret: process.env.EXTEND_WEBHOOK_SECRET ?? "",
  onEvent: (event) => console.log(`Edge webhook verified ${event.eventType} ${event.eventId}`),
  onError: (error) => console.error("Extend webhook (edge):", error),
});
