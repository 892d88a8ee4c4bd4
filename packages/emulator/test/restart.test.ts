import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { EmulatorOptions } from "../src/index.js";
import {
  eventually,
  invoiceText,
  startTestEmulator,
  type TestEmulator,
} from "./helpers/harness.js";

const workflowId = "workflow_invoices";

let dir: string;
let db: string;
let open: TestEmulator[] = [];
let closers: Array<() => Promise<void>> = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "extendkit-restart-"));
  db = path.join(dir, "extend.db");
});
afterEach(async () => {
  for (const t of open) await t.close();
  for (const close of closers) await close();
  open = [];
  closers = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts an emulator on the test's database file (closed after the test if still open). */
async function start(options: EmulatorOptions = {}) {
  const t = await startTestEmulator({ db, ...options });
  open.push(t);
  return t;
}

type DeliveryView = {
  id: string;
  eventId: string;
  state: "pending" | "delivered" | "failed";
  attempts: { attempt: number; status: number | null; error: string | null }[];
  nextAttemptAt: string | null;
};

async function deliveries(t: TestEmulator, query = ""): Promise<DeliveryView[]> {
  return (await t.admin("GET", `/webhook_deliveries${query}`)).deliveries;
}

/** A webhook receiver on an ephemeral loopback port; `reply` decides each answer. */
async function startReceiver(reply: (nth: number) => number | "hang") {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const answer = reply(received.length);
      if (answer === "hang") hanging.push(res);
      else res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

/**
 * A `log` option that keeps the emulator's lines; `next(pattern)` resolves with the first
 * line matching it, logged already or later (webhook attempts are logged once stored). A
 * line that never comes fails after a generous bound, a safety net only.
 */
function logLines() {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  return {
    log(line: string) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (!waiter.pattern.test(line)) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    },
    next(pattern: RegExp, timeoutMs = 45_000): Promise<string> {
      const found = lines.find((line) => pattern.test(line));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(
            new Error(
              `no log line matched ${pattern} within ${timeoutMs} ms; got:\n${lines.join("\n")}`,
            ),
          );
        }, timeoutMs);
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.push(waiter);
      });
    },
  };
}

describe("restart on the same database file", () => {
  test("runs interrupted mid-processing all finish after a restart, each exactly once with its outputs", async () => {
    const options = { pageLatencyMs: 200, concurrency: 2 };
    const first = await start(options);
    const { data } = await first.client.POST("/workflow_runs", {
      body: {
        workflowId,
        rawTexts: Array.from({ length: 6 }, (_, i) => invoiceText(i + 1, 100 + i)),
      },
    });
    const ids = data!.workflowRuns.map((r) => r.id);
    expect(ids).toHaveLength(6);

    // Stop while a run is PROCESSING with a processor step half done, so the restart has
    // both a partial output to discard and queued runs to take up.
    await eventually(async () => {
      const { data: processing } = await first.client.GET("/workflow_runs", {
        params: { query: { workflowId, status: "PROCESSING" } },
      });
      const { data: steps } = await first.client.GET("/processor_runs", {
        params: { query: { source: "WORKFLOW_RUN", status: "PROCESSING" } },
      });
      return processing!.workflowRuns.length > 0 && steps!.processorRuns.length > 0
        ? true
        : undefined;
    });
    await first.close();

    const lines: string[] = [];
    const second = await start({ ...options, log: (line) => lines.push(line) });
    // At least one run was executing when the first emulator stopped, and is resumed.
    const resumed = lines
      .map((l) => /resumed (\d+) run\(s\) interrupted/.exec(l)?.[1])
      .find(Boolean);
    expect(Number(resumed)).toBeGreaterThanOrEqual(1);
    await second.emulator.idle();

    const { data: listed } = await second.client.GET("/workflow_runs", {
      params: { query: { workflowId, maxPageSize: 100 } },
    });
    expect(listed!.workflowRuns.map((r) => r.id).sort()).toEqual([...ids].sort());

    for (const [i, id] of ids.entries()) {
      const { data: got } = await second.client.GET("/workflow_runs/{workflowRunId}", {
        params: { path: { workflowRunId: id } },
      });
      const run = got!.workflowRun;
      expect(run.status).toBe("PROCESSED");
      expect(run.outputs.map((o) => [o.type, o.status])).toEqual([
        ["CLASSIFY", "PROCESSED"],
        ["EXTRACT", "PROCESSED"],
      ]);
      expect(run.outputs[1]?.output).toMatchObject({
        value: { invoice_number: `INV-000${i + 1}` },
      });
      expect(run.stepRuns).toHaveLength(1);

      const { data: outputs } = await second.client.GET("/processor_runs", {
        params: { query: { sourceId: id, maxPageSize: 100 } },
      });
      expect(outputs!.processorRuns.map((p) => p.id).sort()).toEqual(
        run.outputs.map((o) => o.id).sort(),
      );
    }

    const { data: all } = await second.client.GET("/processor_runs", {
      params: { query: { source: "WORKFLOW_RUN", maxPageSize: 100 } },
    });
    expect(all!.processorRuns).toHaveLength(12);
  });

  test("uploaded file bytes survive a restart: the presigned URL after it serves the same bytes", async () => {
    const bytes = Buffer.from(
      `Ünïcödé ✓ ${randomBytes(24).toString("hex")}\nsecond line\n`,
      "utf8",
    );
    const first = await start();
    const form = new FormData();
    form.append("file", new Blob([bytes], { type: "text/plain" }), "kept.txt");
    const { data: uploaded } = await first.client.POST("/files/upload", { body: form as never });
    const fileId = uploaded!.file.id;
    await first.close();

    const second = await start();
    const { data } = await second.client.GET("/files/{id}", {
      params: { path: { id: fileId } },
    });
    expect(data?.file).toMatchObject({ id: fileId, name: "kept.txt", type: "TXT" });
    const url = data!.file.presignedUrl!;
    expect(url.startsWith(`${second.emulator.url}/`)).toBe(true);
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
  });

  test("a webhook delivery in flight at shutdown is delivered after the restart, with the same event", async () => {
    const receiver = await startReceiver((nth) => (nth === 1 ? "hang" : 200));
    const first = await start();
    const { endpoint } = await first.admin("POST", "/webhook_endpoints", {
      url: `${receiver.url}/hook`,
      events: ["workflow.created"],
    });
    await first.client.POST("/workflows", { body: { name: "Announced across a restart" } });
    await eventually(() => (receiver.received.length === 1 ? true : undefined));
    const [pending] = await deliveries(first, `?endpointId=${endpoint.id}`);
    expect(pending?.state).toBe("pending");
    await first.close();
    expect(receiver.received).toHaveLength(1);

    const second = await start();
    const [delivered] = await eventually(async () => {
      const found = await deliveries(second, `?endpointId=${endpoint.id}&state=delivered`);
      return found.length ? found : undefined;
    });
    expect(delivered!.id).toBe(pending!.id);
    expect(delivered!.eventId).toBe(pending!.eventId);
    // The attempt cut short by the shutdown is not the receiver's failure: it is not logged.
    expect(delivered!.attempts.map((a) => [a.attempt, a.status])).toEqual([[1, 200]]);
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.body).toBe(receiver.received[0]!.body);
    expect(JSON.parse(receiver.received[1]!.body).eventId).toBe(pending!.eventId);
  });

  test("a webhook delivery waiting for its retry at shutdown is retried after the restart", async () => {
    // The test owns the webhook clock, so no outcome rests on the machine's speed: it stands
    // still while the first emulator runs (its retry, an hour away, cannot come due before
    // the shutdown however slow the shutdown is) and moves past the retry's due time across
    // the restart (the second emulator finds it due at once, with no real waiting).
    const retryDelayMs = 60 * 60_000;
    let clock = Date.parse("2025-04-21T12:00:00Z");
    const webhooks = { retryDelaysMs: [retryDelayMs], now: () => clock };
    const receiver = await startReceiver((nth) => (nth === 1 ? 500 : 200));
    const firstLog = logLines();
    const first = await start({ webhooks, log: firstLog.log });
    const { endpoint } = await first.admin("POST", "/webhook_endpoints", {
      url: `${receiver.url}/hook`,
      events: ["workflow.created"],
    });
    await first.client.POST("/workflows", { body: { name: "Retried across a restart" } });
    // Logged once the failed attempt and the retry's due time are stored.
    await firstLog.next(
      new RegExp(` attempt 1 failed \\(HTTP 500\\), retry in ${retryDelayMs} ms$`),
    );
    const [waiting] = await deliveries(first, `?endpointId=${endpoint.id}`);
    expect(waiting!.state).toBe("pending");
    expect(waiting!.attempts.map((a) => a.status)).toEqual([500]);
    expect(waiting!.nextAttemptAt).toBe(new Date(clock + retryDelayMs).toISOString());
    await first.close();
    expect(receiver.received).toHaveLength(1);

    clock += retryDelayMs;
    const secondLog = logLines();
    const second = await start({ webhooks, log: secondLog.log });
    await secondLog.next(/ attempt 2 delivered$/);
    const [delivered] = await deliveries(second, `?endpointId=${endpoint.id}`);
    expect(delivered!.id).toBe(waiting!.id);
    expect(delivered!.state).toBe("delivered");
    expect(delivered!.eventId).toBe(waiting!.eventId);
    expect(delivered!.attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(receiver.received.map((r) => JSON.parse(r.body).eventId)).toEqual([
      waiting!.eventId,
      waiting!.eventId,
    ]);
  }, 60_000);
});
