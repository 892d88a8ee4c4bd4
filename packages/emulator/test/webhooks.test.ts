import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterEach, describe, expect, test } from "vitest";
import { parse } from "yaml";
import type { EmulatorOptions } from "../src/index.js";
import { signWebhook } from "../src/webhooks.js";
import {
  eventually,
  invoiceText,
  startTestEmulator,
  type TestEmulator,
} from "./helpers/harness.js";

// ---------------------------------------------------------------- the receiver

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as it arrived. */
  body: string;
  /** The parsed body (checked against the spec's schemas by the tests). */
  json: any;
}

/** What the receiver does with a request: answer this status, or never answer. */
type Reply = number | "hang";

/** A real HTTP receiver on an ephemeral loopback port that records every request. */
async function startReceiver() {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  let script: (request: Received, nthOnPath: number) => Reply = () => 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const request: Received = { path: req.url ?? "/", headers: req.headers, body, json };
      received.push(request);
      const reply = script(request, received.filter((r) => r.path === request.path).length);
      if (reply === "hang") {
        hanging.push(res);
        return;
      }
      res.writeHead(reply, { "content-type": "text/plain" }).end(String(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** Sets how the receiver answers; `nthOnPath` counts requests to that path from 1. */
    reply(next: typeof script) {
      script = next;
    },
    on: (path: string) => received.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------- signatures, independently

/** The v0 scheme, written here from the brief (§4.3), not taken from the emulator. */
function hmacV0(secret: string, timestamp: string | number, rawBody: string) {
  return createHmac("sha256", secret).update(`v0:${timestamp}:${rawBody}`, "utf8").digest("hex");
}

/** Verifies a delivery as the 1.17 SDK does: hex, 32 bytes, constant-time comparison. */
function verifies(secret: string, headers: IncomingHttpHeaders, rawBody: string) {
  const timestamp = headers["x-extend-request-timestamp"];
  const signature = headers["x-extend-request-signature"];
  if (typeof timestamp !== "string" || typeof signature !== "string") return false;
  if (!/^\d+$/.test(timestamp) || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(hmacV0(secret, timestamp, rawBody), "hex");
  return timingSafeEqual(expected, Buffer.from(signature, "hex"));
}

// ---------------------------------------------------------------- the spec's event schemas

const specPath = fileURLToPath(new URL("../../../openapi/extend.openapi.yaml", import.meta.url));
const SPEC_ID = "https://extendkit.test/webhooks-spec.json";
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addFormat("binary", true);
ajv.addKeyword("discriminator");
ajv.addSchema({
  $id: SPEC_ID,
  components: {
    schemas: (parse(readFileSync(specPath, "utf8")) as { components: { schemas: object } })
      .components.schemas,
  },
});

/** Problems of `value` against a named schema of the spec (empty when it conforms). */
function schemaProblems(name: string, value: unknown): string[] {
  const validate = ajv.getSchema(`${SPEC_ID}#/components/schemas/${name}`);
  if (!validate) return [`no schema ${name} in the spec`];
  if (validate(value)) return [];
  return (validate.errors ?? [])
    .slice(0, 8)
    .map((e) => `${name}: ${e.instancePath || "(root)"} ${e.message} ${JSON.stringify(e.params)}`);
}

/** Drops the presigned URLs, which are minted afresh (with a new expiry) on every read. */
function withoutUrls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUrls);
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "presignedUrl")
      .map(([key, v]) => [key, withoutUrls(v)]),
  );
}

// ---------------------------------------------------------------- per-test setup

const SECRET = "wss_test_secret_123";
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A fresh emulator and receiver, closed after the test. */
async function setup(options: EmulatorOptions = {}) {
  const receiver = await startReceiver();
  cleanups.push(receiver.close);
  const t = await startTestEmulator(options);
  cleanups.push(t.close);
  return { t, receiver };
}

async function addEndpoint(
  t: TestEmulator,
  receiverUrl: string,
  path: string,
  settings: Record<string, unknown> = {},
) {
  const { endpoint } = await t.admin("POST", "/webhook_endpoints", {
    url: receiverUrl + path,
    secret: SECRET,
    ...settings,
  });
  return endpoint as { id: string; secret: string; url: string };
}

async function runWorkflow(t: TestEmulator, workflowId: string, text = invoiceText(7, 250)) {
  const { data } = await t.client.POST("/workflow_runs", {
    body: { workflowId, rawTexts: [text] },
  });
  return data!.workflowRuns[0]!.id;
}

async function getRun(t: TestEmulator, id: string) {
  const { data } = await t.client.GET("/workflow_runs/{workflowRunId}", {
    params: { path: { workflowRunId: id } },
  });
  return data!.workflowRun;
}

const upload = (on: TestEmulator, name: string, text: string, type: string) =>
  on.upload(name, text, type);

type DeliveryView = {
  id: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  state: "pending" | "delivered" | "failed";
  attempts: { attempt: number; status: number | null; error: string | null }[];
  nextAttemptAt: string | null;
};

async function deliveries(t: TestEmulator, query = ""): Promise<DeliveryView[]> {
  return (await t.admin("GET", `/webhook_deliveries${query}`)).deliveries;
}

/** Waits until every event emitted so far has been attempted to its end (no delivery pending). */
async function allSettled(t: TestEmulator) {
  await t.emulator.idle();
  await eventually(async () =>
    (await deliveries(t, "?state=pending")).length === 0 ? true : undefined,
  );
}

/** Waits for the first request on `path` whose body satisfies `match`. */
function arrival(
  receiver: Awaited<ReturnType<typeof startReceiver>>,
  path: string,
  match: (json: Received["json"]) => boolean,
) {
  return eventually(() => receiver.on(path).find((r) => r.json && match(r.json)));
}

// ---------------------------------------------------------------- tests

describe("webhook signatures", () => {
  const vector = {
    secret: "wss_test_secret_123",
    timestamp: 1707777128,
    body: '{"eventId":"event_1234","eventType":"workflow_run.completed","payload":{}}',
    signature: "30b75af966d6c259eca3b4a852834c5b0046193354f4f3ce7a7fa938bc6602a5",
  };

  test("the test vector of the brief reproduces with an independent HMAC", () => {
    expect(hmacV0(vector.secret, vector.timestamp, vector.body)).toBe(vector.signature);
  });

  test("the emulator's signWebhook reproduces the test vector of the brief", () => {
    expect(signWebhook(vector.secret, vector.timestamp, vector.body)).toBe(vector.signature);
    expect(signWebhook(vector.secret, String(vector.timestamp), vector.body)).toBe(
      vector.signature,
    );
  });

  test("signWebhook changes with any byte of the body, the timestamp or the secret", () => {
    const base = signWebhook(vector.secret, vector.timestamp, vector.body);
    expect(signWebhook(vector.secret, vector.timestamp, `${vector.body} `)).not.toBe(base);
    expect(signWebhook(vector.secret, vector.timestamp + 1, vector.body)).not.toBe(base);
    expect(signWebhook("test_secret_123", vector.timestamp, vector.body)).not.toBe(base);
  });
});

describe("workflow run events", () => {
  test("a run reaching PROCESSED delivers workflow_run.completed with the full run, a fresh timestamp and a valid v0 signature over the raw body", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/hook");
    const runId = await runWorkflow(t, "workflow_invoices");

    const delivery = await arrival(
      receiver,
      "/hook",
      (e) => e.eventType === "workflow_run.completed" && e.payload?.id === runId,
    );
    const nowSeconds = Date.now() / 1000;

    expect(delivery.json.eventId).toMatch(/^event_[A-Za-z0-9_-]+$/);
    expect(Object.keys(delivery.json).sort()).toEqual(["eventId", "eventType", "payload"]);
    expect(schemaProblems("WorkflowRunWebhookEvent", delivery.json)).toEqual([]);
    const run = await getRun(t, runId);
    expect(run.status).toBe("PROCESSED");
    expect(withoutUrls(delivery.json.payload)).toEqual(withoutUrls(run));
    expect(delivery.json.payload.outputs.map((o: { type: string }) => o.type)).toEqual([
      "CLASSIFY",
      "EXTRACT",
    ]);

    expect(delivery.headers["content-type"]).toMatch(/^application\/json/);
    const timestamp = delivery.headers["x-extend-request-timestamp"] as string;
    expect(timestamp).toMatch(/^\d{10}$/);
    expect(Math.abs(Number(timestamp) - nowSeconds)).toBeLessThanOrEqual(5);
    const signature = delivery.headers["x-extend-request-signature"] as string;
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(signature).toBe(hmacV0(SECRET, timestamp, delivery.body));
    expect(verifies(SECRET, delivery.headers, delivery.body)).toBe(true);
    // The signature covers the exact bytes: any change to body or key breaks it.
    expect(verifies(SECRET, delivery.headers, `${delivery.body}\n`)).toBe(false);
    expect(verifies("test_secret_123", delivery.headers, delivery.body)).toBe(false);
  });

  test("a generated signing secret is used as-is, wss_ prefix included, as the HMAC key", async () => {
    const { t, receiver } = await setup();
    const { endpoint } = await t.admin("POST", "/webhook_endpoints", {
      url: `${receiver.url}/generated`,
      events: ["workflow.created"],
    });
    expect(endpoint.secret).toMatch(/^wss_/);
    await t.client.POST("/workflows", { body: { name: "Signed with a generated secret" } });
    const delivery = await arrival(
      receiver,
      "/generated",
      (e) => e.eventType === "workflow.created",
    );
    expect(verifies(endpoint.secret, delivery.headers, delivery.body)).toBe(true);
    expect(verifies(endpoint.secret.replace(/^wss_/, ""), delivery.headers, delivery.body)).toBe(
      false,
    );
  });

  test("a RULE_VALIDATION step delivers workflow_run.step_run.processed with that StepRun, before the run's workflow_run.completed", async () => {
    const { t, receiver } = await setup();
    const endpoint = await addEndpoint(t, receiver.url, "/hook");
    const runId = await runWorkflow(t, "workflow_invoices");
    await allSettled(t);

    const stepEvents = receiver
      .on("/hook")
      .filter((r) => r.json?.eventType === "workflow_run.step_run.processed");
    expect(stepEvents).toHaveLength(1);
    const event = stepEvents[0]!.json;
    expect(schemaProblems("StepRunWebhookEvent", event)).toEqual([]);
    expect(event.payload).toMatchObject({
      object: "workflow_step_run",
      status: "PROCESSED",
      step: { object: "workflow_step", type: "RULE_VALIDATION", name: "Check required fields" },
      output: { rules: [{ valid: true }, { valid: true }] },
    });
    const run = await getRun(t, runId);
    expect(event.payload).toEqual(run.stepRuns[0]);
    expect(verifies(SECRET, stepEvents[0]!.headers, stepEvents[0]!.body)).toBe(true);

    const order = (await deliveries(t, `?endpointId=${endpoint.id}`)).map((d) => d.eventType);
    expect(order).toEqual(["workflow_run.step_run.processed", "workflow_run.completed"]);
  });

  test("a run whose file is a corrupt PDF delivers workflow_run.failed with the FAILED run", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/hook");
    const file = await upload(
      t,
      "broken.pdf",
      "%PDF-1.7\nthis is not really a PDF\n",
      "application/pdf",
    );
    const { data } = await t.client.POST("/workflow_runs", {
      body: { workflowId: "workflow_invoices", files: [{ fileId: file.id }] },
    });
    const runId = data!.workflowRuns[0]!.id;

    const delivery = await arrival(
      receiver,
      "/hook",
      (e) => e.eventType === "workflow_run.failed" && e.payload?.id === runId,
    );
    expect(schemaProblems("WorkflowRunWebhookEvent", delivery.json)).toEqual([]);
    expect(delivery.json.payload.status).toBe("FAILED");
    expect(delivery.json.payload.failureReason).toEqual(expect.any(String));
    expect(withoutUrls(delivery.json.payload)).toEqual(withoutUrls(await getRun(t, runId)));
    expect(verifies(SECRET, delivery.headers, delivery.body)).toBe(true);
    expect(
      receiver.on("/hook").filter((r) => r.json?.eventType === "workflow_run.completed"),
    ).toEqual([]);
  });

  test("a run of the workflow with a review step delivers workflow_run.needs_review", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/hook");
    const runId = await runWorkflow(t, "workflow_invoices_review");
    const delivery = await arrival(
      receiver,
      "/hook",
      (e) => e.eventType === "workflow_run.needs_review" && e.payload?.id === runId,
    );
    expect(schemaProblems("WorkflowRunWebhookEvent", delivery.json)).toEqual([]);
    expect(delivery.json.payload.status).toBe("NEEDS_REVIEW");
    expect(delivery.json.payload.workflow.id).toBe("workflow_invoices_review");
    expect(withoutUrls(delivery.json.payload)).toEqual(withoutUrls(await getRun(t, runId)));
  });
});

describe("processor, parser and global events", () => {
  test("a direct processor run delivers processor_run.processed with the finished run", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/hook");
    const { data } = await t.client.POST("/processor_runs", {
      body: { processorId: "dp_invoice_extractor", rawText: invoiceText(3, 40) },
    });
    const runId = data!.processorRun.id;
    const delivery = await arrival(
      receiver,
      "/hook",
      (e) => e.eventType === "processor_run.processed" && e.payload?.id === runId,
    );
    expect(schemaProblems("ProcessorRunWebhookEvent", delivery.json)).toEqual([]);
    expect(delivery.json.payload).toMatchObject({
      object: "document_processor_run",
      id: runId,
      processorId: "dp_invoice_extractor",
      status: "PROCESSED",
      output: { value: { invoice_number: "INV-0003" } },
    });
    const { data: got } = await t.client.GET("/processor_runs/{id}", {
      params: { path: { id: runId } },
    });
    expect(withoutUrls(delivery.json.payload)).toEqual(withoutUrls(got!.processorRun));
    expect(verifies(SECRET, delivery.headers, delivery.body)).toBe(true);
  });

  test("an async parse delivers parser_run.processed with a parser_run_status payload", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/hook");
    const file = await upload(t, "invoice.txt", invoiceText(5), "text/plain");
    const started = await t.request("POST", "/parse/async", {
      body: { file: { fileId: file.id } },
    });
    expect(started.status).toBe(200);
    const parserRunId = started.body.id as string;
    const delivery = await arrival(
      receiver,
      "/hook",
      (e) => e.eventType === "parser_run.processed" && e.payload?.id === parserRunId,
    );
    expect(schemaProblems("ParserRunWebhookEvent", delivery.json)).toEqual([]);
    expect(delivery.json.payload).toEqual({
      object: "parser_run_status",
      id: parserRunId,
      status: "PROCESSED",
    });
    expect(verifies(SECRET, delivery.headers, delivery.body)).toBe(true);
  });

  test("creating and publishing a processor delivers processor.created and processor.version.published", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/hook");
    const { data: created } = await t.client.POST("/processors", {
      body: {
        name: "Letters",
        type: "CLASSIFY",
        config: {
          type: "CLASSIFY",
          classifications: [
            { id: "letter", type: "letter", description: "A letter" },
            { id: "other", type: "other", description: "Anything else" },
          ],
        },
      },
    });
    const processor = created!.processor;
    const createdEvent = await arrival(
      receiver,
      "/hook",
      (e) => e.eventType === "processor.created" && e.payload?.id === processor.id,
    );
    expect(schemaProblems("ProcessorWebhookEvent", createdEvent.json)).toEqual([]);
    expect(createdEvent.json.payload).toEqual(processor);

    const { data: published } = await t.client.POST("/processors/{id}/publish", {
      params: { path: { id: processor.id } },
      body: { releaseType: "major" },
    });
    const version = published!.processorVersion;
    const publishedEvent = await arrival(
      receiver,
      "/hook",
      (e) => e.eventType === "processor.version.published" && e.payload?.id === version.id,
    );
    expect(schemaProblems("ProcessorVersionWebhookEvent", publishedEvent.json)).toEqual([]);
    expect(publishedEvent.json.payload).toEqual(version);
    expect(publishedEvent.json.payload).toMatchObject({
      processorId: processor.id,
      version: "1.0",
    });
    expect(publishedEvent.json.eventId).not.toBe(createdEvent.json.eventId);
  });

  test("creating a workflow delivers workflow.created with the workflow", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/hook");
    const { data } = await t.client.POST("/workflows", { body: { name: "Receipts" } });
    const workflow = data!.workflow;
    const delivery = await arrival(
      receiver,
      "/hook",
      (e) => e.eventType === "workflow.created" && e.payload?.id === workflow.id,
    );
    expect(schemaProblems("WorkflowWebhookEvent", delivery.json)).toEqual([]);
    expect(delivery.json.payload).toEqual(workflow);
    expect(verifies(SECRET, delivery.headers, delivery.body)).toBe(true);
  });
});

describe("subscriptions", () => {
  test("an endpoint's `events` list limits it to those event types", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/all");
    const filtered = await addEndpoint(t, receiver.url, "/filtered", {
      events: ["workflow_run.completed", "workflow.created"],
    });
    await runWorkflow(t, "workflow_invoices");
    await runWorkflow(t, "workflow_invoices_review");
    await t.client.POST("/workflows", { body: { name: "Filtered" } });
    await t.client.POST("/processor_runs", {
      body: { processorId: "dp_invoice_extractor", rawText: invoiceText(1) },
    });
    await allSettled(t);

    const types = (path: string) =>
      [...new Set(receiver.on(path).map((r) => r.json?.eventType))].sort();
    expect(types("/all")).toEqual([
      "processor_run.processed",
      "workflow.created",
      "workflow_run.completed",
      "workflow_run.needs_review",
      "workflow_run.step_run.processed",
    ]);
    expect(types("/filtered")).toEqual(["workflow.created", "workflow_run.completed"]);
    expect(
      (await deliveries(t, `?endpointId=${filtered.id}`)).map((d) => d.eventType).sort(),
    ).toEqual(["workflow.created", "workflow_run.completed"]);
  });

  test("`workflowIds` scopes workflow run events to those workflows", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/all");
    await addEndpoint(t, receiver.url, "/review-only", {
      workflowIds: ["workflow_invoices_review"],
    });
    const plain = await runWorkflow(t, "workflow_invoices");
    const reviewed = await runWorkflow(t, "workflow_invoices_review");
    await allSettled(t);

    const runEvents = (path: string) =>
      receiver
        .on(path)
        .filter((r) => r.json?.eventType.startsWith("workflow_run."))
        .map((r) => [r.json.eventType, r.json.payload.id ?? "step"]);
    expect(runEvents("/review-only")).toEqual([["workflow_run.needs_review", reviewed]]);
    expect(runEvents("/all")).toEqual(
      expect.arrayContaining([
        ["workflow_run.completed", plain],
        ["workflow_run.needs_review", reviewed],
      ]),
    );
  });

  test("`processorIds` scopes direct processor run events to those processors", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/all");
    await addEndpoint(t, receiver.url, "/classifier-only", {
      processorIds: ["dp_document_classifier"],
    });
    const run = async (processorId: string) => {
      const { data } = await t.client.POST("/processor_runs", {
        body: { processorId, rawText: invoiceText(2) },
      });
      return data!.processorRun.id;
    };
    const extraction = await run("dp_invoice_extractor");
    const classification = await run("dp_document_classifier");
    await allSettled(t);

    const ids = (path: string) =>
      receiver
        .on(path)
        .filter((r) => r.json?.eventType === "processor_run.processed")
        .map((r) => r.json.payload.id)
        .sort();
    expect(ids("/classifier-only")).toEqual([classification]);
    expect(ids("/all")).toEqual([extraction, classification].sort());
  });

  test("an endpoint URL that is not absolute http(s) is refused", async () => {
    const { t } = await setup();
    await expect(
      t.admin("POST", "/webhook_endpoints", { url: "ftp://127.0.0.1/hook" }),
    ).rejects.toThrow(/400/);
    await expect(t.admin("POST", "/webhook_endpoints", { url: "not a url" })).rejects.toThrow(
      /400.*absolute http\(s\) URL/,
    );
  });
});

describe("delivery, retries and the delivery log", () => {
  test("a receiver answering 500 twice, then 200, gets 3 attempts of the same event and body; the log shows them and `delivered`", async () => {
    const { t, receiver } = await setup({ webhooks: { retryDelaysMs: [20, 40, 80] } });
    const endpoint = await addEndpoint(t, receiver.url, "/flaky", { events: ["workflow.created"] });
    receiver.reply((_r, nth) => (nth <= 2 ? 500 : 200));
    await t.client.POST("/workflows", { body: { name: "Retried" } });

    const [delivery] = await eventually(async () => {
      const found = await deliveries(t, `?endpointId=${endpoint.id}&state=delivered`);
      return found.length ? found : undefined;
    });
    const attempts = receiver.on("/flaky");
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    expect(attempts.map((a) => a.json.eventId)).toEqual(Array(3).fill(delivery!.eventId));
    for (const attempt of attempts)
      expect(verifies(SECRET, attempt.headers, attempt.body)).toBe(true);

    expect(delivery).toMatchObject({
      eventType: "workflow.created",
      endpointId: endpoint.id,
      state: "delivered",
      nextAttemptAt: null,
    });
    expect(
      delivery!.attempts.map(({ attempt, status, error }) => ({ attempt, status, error })),
    ).toEqual([
      { attempt: 1, status: 500, error: "HTTP 500" },
      { attempt: 2, status: 500, error: "HTTP 500" },
      { attempt: 3, status: 200, error: null },
    ]);
  });

  test("a receiver that does not answer within timeoutMs is retried, each attempt logged as a timeout, and the delivery is `failed` once the schedule is spent", async () => {
    const { t, receiver } = await setup({ webhooks: { timeoutMs: 200, retryDelaysMs: [20, 40] } });
    const endpoint = await addEndpoint(t, receiver.url, "/silent", {
      events: ["workflow.created"],
    });
    receiver.reply(() => "hang");
    await t.client.POST("/workflows", { body: { name: "Never acknowledged" } });

    const [delivery] = await eventually(async () => {
      const found = await deliveries(t, `?endpointId=${endpoint.id}&state=failed`);
      return found.length ? found : undefined;
    });
    expect(delivery!.nextAttemptAt).toBeNull();
    expect(delivery!.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    for (const attempt of delivery!.attempts) {
      expect(attempt.status).toBeNull();
      expect(attempt.error).toMatch(/no answer within 200 ms/);
    }
    const requests = receiver.on("/silent");
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.json.eventId))).toEqual(new Set([delivery!.eventId]));
  });

  test("a receiver that times out once and then answers gets the event delivered on the retry", async () => {
    // The retry must be answered within timeoutMs even on a loaded machine (OCR tests run
    // beside this one), so the timeout is a second, not the 200 ms of the tests above.
    const { t, receiver } = await setup({ webhooks: { timeoutMs: 1000, retryDelaysMs: [20] } });
    const endpoint = await addEndpoint(t, receiver.url, "/slow-once", {
      events: ["workflow.created"],
    });
    receiver.reply((_r, nth) => (nth === 1 ? "hang" : 200));
    await t.client.POST("/workflows", { body: { name: "Second time lucky" } });
    const [delivery] = await eventually(async () => {
      const found = await deliveries(t, `?endpointId=${endpoint.id}&state=delivered`);
      return found.length ? found : undefined;
    });
    expect(delivery!.attempts.map((a) => [a.status, a.error])).toEqual([
      [null, "no answer within 1000 ms"],
      [200, null],
    ]);
  });

  test("a receiver answering 500 every time gets 1 + retries attempts, then the delivery is `failed`", async () => {
    const { t, receiver } = await setup({ webhooks: { retryDelaysMs: [10, 20] } });
    const endpoint = await addEndpoint(t, receiver.url, "/broken", {
      events: ["workflow.created"],
    });
    receiver.reply(() => 500);
    await t.client.POST("/workflows", { body: { name: "Broken receiver" } });
    const [delivery] = await eventually(async () => {
      const found = await deliveries(t, `?endpointId=${endpoint.id}&state=failed`);
      return found.length ? found : undefined;
    });
    expect(delivery!.attempts.map((a) => a.status)).toEqual([500, 500, 500]);
    expect(receiver.on("/broken")).toHaveLength(3);
  });

  test("redeliver sends a delivered event again with the same eventId and body", async () => {
    const { t, receiver } = await setup();
    const endpoint = await addEndpoint(t, receiver.url, "/hook", { events: ["workflow.created"] });
    await t.client.POST("/workflows", { body: { name: "Twice" } });
    await arrival(receiver, "/hook", (e) => e.eventType === "workflow.created");
    const [delivery] = await eventually(async () => {
      const found = await deliveries(t, `?endpointId=${endpoint.id}&state=delivered`);
      return found.length ? found : undefined;
    });

    expect(await t.admin("POST", `/webhook_deliveries/${delivery!.id}/redeliver`)).toEqual({
      redelivering: delivery!.id,
    });
    await eventually(() => (receiver.on("/hook").length === 2 ? true : undefined));
    const [first, second] = receiver.on("/hook");
    expect(second!.json.eventId).toBe(first!.json.eventId);
    expect(second!.body).toBe(first!.body);
    expect(verifies(SECRET, second!.headers, second!.body)).toBe(true);

    const [after] = await eventually(async () => {
      const found = await deliveries(t, `?eventId=${delivery!.eventId}`);
      return found[0]?.attempts.length === 2 ? found : undefined;
    });
    expect(after).toMatchObject({ id: delivery!.id, state: "delivered" });
    expect(after!.attempts.map((a) => a.status)).toEqual([200, 200]);
  });

  test("redeliver revives a failed delivery, which succeeds once the receiver is fixed", async () => {
    const { t, receiver } = await setup({ webhooks: { retryDelaysMs: [] } });
    const endpoint = await addEndpoint(t, receiver.url, "/hook", { events: ["workflow.created"] });
    receiver.reply(() => 503);
    await t.client.POST("/workflows", { body: { name: "Fixed later" } });
    const [failed] = await eventually(async () => {
      const found = await deliveries(t, `?endpointId=${endpoint.id}&state=failed`);
      return found.length ? found : undefined;
    });
    expect(failed!.attempts.map((a) => a.status)).toEqual([503]);

    receiver.reply(() => 204);
    await t.admin("POST", `/webhook_deliveries/${failed!.id}/redeliver`);
    const [delivered] = await eventually(async () => {
      const found = await deliveries(t, `?endpointId=${endpoint.id}&state=delivered`);
      return found.length ? found : undefined;
    });
    expect(delivered!.eventId).toBe(failed!.eventId);
    expect(delivered!.attempts.map((a) => a.status)).toEqual([503, 204]);
    expect(receiver.on("/hook").map((r) => r.json.eventId)).toEqual([
      failed!.eventId,
      failed!.eventId,
    ]);
  });

  test("redelivering an unknown delivery answers 404", async () => {
    const { t } = await setup();
    await expect(t.admin("POST", "/webhook_deliveries/whd_nope/redeliver")).rejects.toThrow(/404/);
  });
});

describe("signed URL delivery", () => {
  test('format "signed_url" delivers payload {data: <url>}, and GETting the URL without a token returns the full payload', async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/signed", { format: "signed_url" });
    const runId = await runWorkflow(t, "workflow_invoices");
    const delivery = await arrival(
      receiver,
      "/signed",
      (e) => e.eventType === "workflow_run.completed",
    );

    expect(schemaProblems("SignedUrlWebhookEvent", delivery.json)).toEqual([]);
    expect(delivery.json.eventId).toMatch(/^event_/);
    expect(Object.keys(delivery.json.payload)).toEqual(["data"]);
    const url = delivery.json.payload.data as string;
    expect(url.startsWith(`${t.emulator.url}/`)).toBe(true);
    expect(verifies(SECRET, delivery.headers, delivery.body)).toBe(true);

    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toMatch(/^application\/json/);
    const payload = await download.json();
    expect(payload.id).toBe(runId);
    expect(payload.status).toBe("PROCESSED");
    expect(schemaProblems("WorkflowRun", payload)).toEqual([]);
    expect(withoutUrls(payload)).toEqual(withoutUrls(await getRun(t, runId)));
  });

  test("a signed payload URL whose signature was altered is refused with 403", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/signed", {
      format: "signed_url",
      events: ["workflow.created"],
    });
    await t.client.POST("/workflows", { body: { name: "Tamper" } });
    const delivery = await arrival(receiver, "/signed", (e) => e.eventType === "workflow.created");
    const url = new URL(delivery.json.payload.data);
    const signature = url.searchParams.get("signature")!;
    url.searchParams.set("signature", (signature[0] === "0" ? "1" : "0") + signature.slice(1));
    expect((await fetch(url)).status).toBe(403);
  });

  test("a JSON endpoint with a size threshold switches to a URL only for bodies above it", async () => {
    const { t, receiver } = await setup();
    await addEndpoint(t, receiver.url, "/threshold", {
      events: ["workflow.created", "workflow_run.completed"],
      signedUrlThresholdBytes: 1000,
    });
    const { data } = await t.client.POST("/workflows", { body: { name: "Small" } });
    const runId = await runWorkflow(t, "workflow_invoices");

    const small = await arrival(receiver, "/threshold", (e) => e.eventType === "workflow.created");
    expect(small.json.payload).toEqual(data!.workflow);

    const large = await arrival(
      receiver,
      "/threshold",
      (e) => e.eventType === "workflow_run.completed",
    );
    expect(Object.keys(large.json.payload)).toEqual(["data"]);
    const payload = await (await fetch(large.json.payload.data)).json();
    expect(payload.id).toBe(runId);
    expect(JSON.stringify({ ...large.json, payload }).length).toBeGreaterThan(1000);
  });
});
