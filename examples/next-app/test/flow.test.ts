import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, WEBHOOK_PATHS } from "../server/start.mjs";
import { INVOICE, invoicePdf } from "./invoice-pdf.js";

// The built app under `next start`, beside the emulator; plain HTTP, no browser.
let running: Awaited<ReturnType<typeof start>>;
beforeAll(async () => {
  running = await start({ port: 0, output: "capture" });
});
afterAll(async () => {
  await running?.close();
});

async function proxied(path: string, init?: RequestInit) {
  const response = await fetch(`${running.appUrl}/api/extend${path}`, init);
  const text = await response.text();
  expect(text).not.toContain(running.emulator.token);
  return { status: response.status, body: JSON.parse(text) };
}

interface Delivery {
  endpointId: string;
  state: string;
  attempts: { status: number | null }[];
}

describe("the example app under next start", () => {
  it("serves the upload page with the seeded workflow", async () => {
    const html = await (await fetch(running.appUrl)).text();
    expect(html).toContain("Upload and run");
    expect(html).toContain(running.emulator.seed.workflowId);
  });

  it("uploads a PDF and runs it through the proxy; both webhook routes verify the delivery", async () => {
    const form = new FormData();
    form.append("file", new Blob([await invoicePdf()], { type: "application/pdf" }), "inv.pdf");
    const upload = await proxied("/files/upload", { method: "POST", body: form });
    expect(upload.status).toBe(200);
    expect(upload.body.file.type).toBe("PDF");

    const created = await proxied("/workflow_runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        workflowId: running.emulator.seed.workflowId,
        files: [{ fileId: upload.body.file.id }],
      }),
    });
    expect(created.status).toBe(200);
    const id: string = created.body.workflowRuns[0].id;

    let run = (await proxied(`/workflow_runs/${id}`)).body.workflowRun;
    for (let i = 0; i < 300 && ["PENDING", "PROCESSING"].includes(run.status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      run = (await proxied(`/workflow_runs/${id}`)).body.workflowRun;
    }
    expect(run.status).toBe("PROCESSED");
    const extract = run.outputs.find((output: { type: string }) => output.type === "EXTRACT");
    expect(extract.output.value).toMatchObject({
      invoice_number: INVOICE.number,
      invoice_date: INVOICE.date,
      vendor_name: INVOICE.vendor,
      total: { amount: 2418.5, iso_4217_currency_code: "USD" },
    });

    // The Node route records what it verified; the run page reads it from here.
    let events: { eventId: string; eventType: string; status: string }[] = [];
    for (let i = 0; i < 100 && !events.some((e) => e.status === "PROCESSED"); i++) {
      events = (await (await fetch(`${running.appUrl}/api/runs/${id}/webhook`)).json()).events;
      if (!events.some((e) => e.status === "PROCESSED"))
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(events.map((e) => e.eventType)).toContain("workflow_run.completed");

    // The emulator's own log: each of those events went to both routes and got a 200.
    const admin = { authorization: `Bearer ${running.emulator.token}` };
    const endpoints: { id: string; url: string }[] = (
      await (
        await fetch(`${running.emulator.url}/_emulator/webhook_endpoints`, { headers: admin })
      ).json()
    ).endpoints;
    expect(endpoints.map((e) => new URL(e.url).pathname).sort()).toEqual([...WEBHOOK_PATHS].sort());
    for (const event of events) {
      // The Node route has answered; the Edge route's delivery of the same event may still
      // be in flight (its first request compiles the route), so wait for it to settle.
      let deliveries: Delivery[] = [];
      for (let i = 0; i < 200; i++) {
        deliveries = (
          (await (
            await fetch(
              `${running.emulator.url}/_emulator/webhook_deliveries?eventId=${event.eventId}`,
              { headers: admin },
            )
          ).json()) as { deliveries: Delivery[] }
        ).deliveries;
        if (
          deliveries.length === endpoints.length &&
          deliveries.every((d) => d.state !== "pending")
        )
          break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(deliveries.map((d) => d.endpointId).sort()).toEqual(endpoints.map((e) => e.id).sort());
      for (const delivery of deliveries) {
        expect(delivery.state).toBe("delivered");
        expect(delivery.attempts.at(-1)?.status).toBe(200);
      }
    }
    expect(running.logs()).toMatch(/Edge webhook verified workflow_run\.completed/);
  });

  it("refuses an unsigned delivery on both runtimes, and dispatches nothing", async () => {
    for (const path of WEBHOOK_PATHS) {
      const answer = await fetch(`${running.appUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          eventId: "evt_forged",
          eventType: "workflow_run.completed",
          payload: { object: "workflow_run", id: "workflow_run_forged", status: "PROCESSED" },
        }),
      });
      expect(answer.status).toBe(401);
      expect((await fetch(`${running.appUrl}${path}`)).status).toBe(405);
    }
    const events = await (
      await fetch(`${running.appUrl}/api/runs/workflow_run_forged/webhook`)
    ).json();
    expect(events).toEqual({ events: [] });
  });

  it("keeps the proxy to its allow-list", async () => {
    expect((await proxied("/processors")).status).toBe(404);
    expect((await proxied("/workflow_runs")).status).toBe(405);
  });
});

describe("server/start.mjs", () => {
  it("fails, and cleans up, when the port is taken by another server", async () => {
    const other = createServer((_req, res) => res.end("some other app"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const { port } = other.address() as AddressInfo;
    try {
      await expect(start({ port, output: "capture" })).rejects.toThrow(
        /next start exited before it was ready[\s\S]*EADDRINUSE/,
      );
    } finally {
      other.close();
    }
  });
});
