import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express5 from "express";
import express4 from "express4";

/** The Express versions every adapter test runs against. */
export const EXPRESSES = [
  ["Express 5", express5 as unknown as typeof express5],
  ["Express 4", express4 as unknown as typeof express5],
] as const;

export type Express = (typeof EXPRESSES)[number][1];

/** Listens on an ephemeral loopback port. */
export async function listen(
  app: ReturnType<Express>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A full garbage collection in this process (vitest runs it with `--expose-gc`). */
export function forceGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("Run the tests with --expose-gc (vitest.config.ts sets it).");
  gc();
}
