// A full garbage collection in the server process (started with --expose-gc), where the
// Node and Edge routes both run: the hostile contract forces one before a caller leaves.
export const dynamic = "force-dynamic";

export function GET() {
  if (typeof globalThis.gc !== "function") return new Response("no gc", { status: 501 });
  globalThis.gc();
  return new Response("collected");
}
