import { eventsFor } from "../../../../../lib/webhook-events";

/** The verified webhook events received for a run, for the run page. */
export async function GET(_request: Request, context: { params: Promise<{ id: string }> }) {
  const { id } = await context.params;
  return Response.json({ events: eventsFor(id) }, { headers: { "cache-control": "no-store" } });
}
