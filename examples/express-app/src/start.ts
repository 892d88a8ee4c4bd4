import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import { createApp } from "./app.js";

/** The emulator, and the app with the emulator's webhooks pointed at it. */
export interface Running {
  appUrl: string;
  emulator: Emulator;
  close(): Promise<void>;
}

/** Starts the emulator and the app, and registers the app's webhook route with the emulator. */
export async function start(port = 0): Promise<Running> {
  const emulator = await startEmulator({ port: 0 });
  const webhookSecret = `wss_example_${crypto.randomUUID().replaceAll("-", "")}`;
  const app = createApp({
    baseUrl: emulator.url,
    token: emulator.token,
    webhookSecret,
    workflowId: emulator.seed.workflowId,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(port, "127.0.0.1", () => resolve(s));
  });
  const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const registered = await fetch(`${emulator.url}/_emulator/webhook_endpoints`, {
    method: "POST",
    headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
    body: JSON.stringify({ url: `${appUrl}/webhooks/extend`, secret: webhookSecret }),
  });
  if (!registered.ok) throw new Error(`Could not register the webhook: ${await registered.text()}`);
  return {
    appUrl,
    emulator,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await emulator.close();
    },
  };
}
