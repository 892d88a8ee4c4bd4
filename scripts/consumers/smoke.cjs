// The consumer smoke script for a CommonJS JavaScript project: every published package
// loaded with require(), run against the emulator.
const assert = require("node:assert/strict");
const { createClient, waitForWorkflowRun } = require("@extendkit/core");
const { createWebhookHandler: coreWebhookHandler } = require("@extendkit/core/handlers");
const { signWebhook, verifyWebhook } = require("@extendkit/core/webhooks");
const { startEmulator } = require("@extendkit/emulator");
const { extendWebhooks } = require("@extendkit/express");
const { createWebhookHandler } = require("@extendkit/next");
const { runBatch, createMemoryJournal } = require("@extendkit/batch");
const { createPostgresDedupeStore, migrate } = require("@extendkit/postgres");
const { createRedisDedupeStore, fromIoredis } = require("@extendkit/redis");

async function main() {
  const emulator = await startEmulator({ port: 0 });
  try {
    const extend = createClient({ token: emulator.token, baseUrl: emulator.url });
    const { data, error } = await extend.POST("/workflow_runs", {
      body: {
        workflowId: emulator.seed.workflowId,
        rawTexts: ["Invoice number: INV-5\nTotal: $5.00"],
      },
    });
    assert.equal(error, undefined);
    const run = await waitForWorkflowRun(extend, data.workflowRuns[0].id, { intervalMs: 50 });
    assert.equal(run.status, "PROCESSED");

    const secret = "wss_consumer";
    const body = JSON.stringify({
      eventId: "evt_cjs",
      eventType: "workflow_run.completed",
      payload: run,
    });
    const headers = await signWebhook({ body, secret });
    assert.equal((await verifyWebhook({ body, headers, secret })).eventId, "evt_cjs");
    for (const handle of [coreWebhookHandler({ secret }), createWebhookHandler({ secret }).POST]) {
      const answer = await handle(
        new Request("http://app.test/", { method: "POST", body, headers }),
      );
      assert.equal(answer.status, 200);
    }
    assert.equal(typeof extendWebhooks({ secret }), "function");

    // The dedupe stores through require(): Redis against a stand-in ioredis client.
    const keys = new Set();
    const ioredisLike = {
      set: async (key, _value, px, _ms, nx) => {
        if (px !== "PX" || nx !== "NX" || keys.has(key)) return null;
        keys.add(key);
        return "OK";
      },
      del: async (key) => Number(keys.delete(key)),
    };
    const dedupe = createRedisDedupeStore(fromIoredis(ioredisLike));
    assert.deepEqual([await dedupe.claim("e"), await dedupe.claim("e")], [true, false]);
    await dedupe.release("e");
    assert.equal(await dedupe.claim("e"), true);
    assert.equal(typeof createPostgresDedupeStore, "function");
    assert.equal(typeof migrate, "function");

    const job = runBatch({
      workflowId: emulator.seed.workflowId,
      inputs: [{ rawText: "Invoice A, total $2.00" }, { rawText: "Invoice B, total $3.00" }],
      client: { token: emulator.token, baseUrl: emulator.url },
      journal: createMemoryJournal(),
      pollIntervalMs: 50,
    });
    const statuses = [];
    for await (const outcome of job) statuses.push(outcome.status);
    assert.equal(statuses.length, 2);
    console.log(`ok: run ${run.status}, webhook verified, batch ${statuses.join(",")}`);
  } finally {
    await emulator.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
