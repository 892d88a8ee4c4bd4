// The consumer smoke script for TypeScript ESM projects (moduleResolution node16 and
// bundler): every published package imported by its public name, run against the emulator.
import { createClient, isApiError, uploadFile, waitForWorkflowRun } from "@extendkit/core";
import { createProxyHandler } from "@extendkit/core/handlers";
import { signWebhook, verifyWebhook } from "@extendkit/core/webhooks";
import { startEmulator } from "@extendkit/emulator";
import { extendProxy, extendWebhooks } from "@extendkit/express";
import { createProxyHandlers, createWebhookHandler } from "@extendkit/next";
import { runThree } from "./batch-step.js";
import { dedupeTwice } from "./dedupe-stores.js";

const emulator = await startEmulator({ port: 0 });
try {
  const extend = createClient({ token: emulator.token, baseUrl: emulator.url });
  const file = await uploadFile(
    extend,
    new TextEncoder().encode("Invoice number: INV-77\nTotal: $9.50\n"),
    {
      name: "invoice.txt",
    },
  );
  if (file.error) throw file.error;
  const { data, error } = await extend.POST("/workflow_runs", {
    body: { workflowId: emulator.seed.workflowId, files: [{ fileId: file.data.file.id }] },
  });
  if (error) throw new Error(error.error);
  const id = data.workflowRuns[0]?.id ?? "";
  const run = await waitForWorkflowRun(extend, id, { intervalMs: 50 });
  if (run.status !== "PROCESSED") throw new Error(`run ended ${run.status}`);
  const missing = await extend.GET("/workflow_runs/{workflowRunId}", {
    params: { path: { workflowRunId: "workflow_run_missing" } },
  });
  if (!isApiError(missing.error) || missing.error.status !== 404) throw new Error("no 404");

  const secret = "wss_consumer";
  const body = JSON.stringify({
    eventId: "evt_1",
    eventType: "workflow_run.completed",
    payload: run,
  });
  const headers = await signWebhook({ body, secret });
  const event = await verifyWebhook({ body, headers, secret });
  const seen: string[] = [];
  const { POST } = createWebhookHandler({ secret, onEvent: (e) => void seen.push(e.eventId) });
  const answer = await POST(
    new Request("http://app.test/webhooks", { method: "POST", body, headers }),
  );
  if (answer.status !== 200 || seen[0] !== event.eventId) throw new Error("webhook not handled");

  const proxy = createProxyHandler({ token: emulator.token, baseUrl: emulator.url });
  const proxied = await proxy(new Request(`http://app.test/api/extend/workflow_runs/${id}`));
  const { GET } = createProxyHandlers({ token: emulator.token, baseUrl: emulator.url });
  const viaNext = await GET(new Request(`http://app.test/api/extend/workflow_runs/${id}`));
  if (proxied.status !== 200 || viaNext.status !== 200) throw new Error("proxy failed");
  if (
    typeof extendWebhooks({ secret }) !== "function" ||
    typeof extendProxy({ token: "t" }) !== "function"
  )
    throw new Error("express middleware missing");

  const outcomes = await runThree(emulator);
  const stores = await dedupeTwice();
  console.log(
    `ok: run ${run.status}, webhook ${event.eventType}, proxy 200, batch ${outcomes}, ${stores}`,
  );
} finally {
  await emulator.close();
}
