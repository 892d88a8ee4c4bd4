import { afterAll, beforeAll, expect, it } from "vitest";
import { type Running, start } from "../src/start.js";

let running: Running;
beforeAll(async () => {
  running = await start();
});
afterAll(async () => {
  await running.close();
});

it("uploads, runs through the proxy, and shows the result once the webhook arrives", async () => {
  const { appUrl } = running;
  const page = await (await fetch(appUrl)).text();
  expect(page).toContain('fetch("/api/extend/files/upload"');

  const form = new FormData();
  const text = "INVOICE\nInvoice number: INV-2041\nDate: 2026-11-30\nTotal: $1,250.00\n";
  form.append("file", new Blob([text], { type: "text/plain" }), "invoice.txt");
  const upload = await (
    await fetch(`${appUrl}/api/extend/files/upload`, { method: "POST", body: form })
  ).json();
  expect(upload.file.id).toMatch(/^file_/);

  const run = await (
    await fetch(`${appUrl}/api/extend/workflow_runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        workflowId: running.emulator.seed.workflowId,
        files: [{ fileId: upload.file.id }],
      }),
    })
  ).json();
  const id = run.workflowRuns[0].id as string;

  // Nothing but the webhook fills the app's results: poll the app, as the page does.
  let result: { status: string; outputs: unknown[] } | undefined;
  for (let i = 0; i < 200 && !result; i++) {
    const answer = await fetch(`${appUrl}/results/${id}`);
    if (answer.ok) result = await answer.json();
    else await new Promise((r) => setTimeout(r, 50));
  }
  expect(result?.status).toBe("PROCESSED");
  expect(JSON.stringify(result?.outputs)).toContain("INV-2041");
});
