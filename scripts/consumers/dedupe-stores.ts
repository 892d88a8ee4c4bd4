// The shared-state dedupe stores from a consumer's side: both plug into the webhook
// handler as `dedupe` (type-checked here, with the lowest TypeScript too), and the Redis
// store runs against a stand-in for an Upstash client, since these projects have no server.
import { createWebhookHandler } from "@extendkit/core/handlers";
import { signWebhook } from "@extendkit/core/webhooks";
import { createPostgresDedupeStore, migrate, type Queryable } from "@extendkit/postgres";
import { createRedisDedupeStore, fromUpstash } from "@extendkit/redis";

export async function dedupeTwice(): Promise<string> {
  const keys = new Map<string, string>();
  const upstashLike = {
    set: async (key: string, value: string, _options: { nx: true; px: number }) => {
      if (keys.has(key)) return null;
      keys.set(key, value);
      return "OK" as const;
    },
    del: async (key: string) => Number(keys.delete(key)),
  };
  const secret = "wss_consumer";
  const handle = createWebhookHandler({
    secret,
    dedupe: createRedisDedupeStore(fromUpstash(upstashLike)),
  });
  const body = JSON.stringify({
    eventId: "evt_dedupe",
    eventType: "workflow.deployed",
    payload: {},
  });
  const answers: { duplicate?: boolean }[] = [];
  for (let i = 0; i < 2; i++) {
    const headers = await signWebhook({ body, secret });
    const answer = await handle(new Request("http://app.test/", { method: "POST", body, headers }));
    answers.push((await answer.json()) as { duplicate?: boolean });
  }
  if (answers[0]?.duplicate || answers[1]?.duplicate !== true)
    throw new Error(`the Redis store did not deduplicate: ${JSON.stringify(answers)}`);

  const db: Queryable = { query: async () => ({ rows: [], rowCount: 0 }) };
  createWebhookHandler({ secret, dedupe: createPostgresDedupeStore(db, { migrate: false }) });
  if (typeof migrate !== "function") throw new Error("migrate missing");
  return "dedupe stores ok";
}
