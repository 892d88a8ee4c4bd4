/**
 * The helpers of `@extendkit/core` — pagination, polling and uploads — end to end against
 * the real emulator over HTTP.
 */
import { createHash } from "node:crypto";
import { createWriteStream, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { finished } from "node:stream/promises";
import {
  type ClientOptions,
  createClient,
  type ExtendClient,
  PollingTimeoutError,
  paginate,
  type Schemas,
  uploadFile,
  waitForEditRun,
  waitForParserRun,
  waitForProcessorRun,
  waitForWorkflowRun,
} from "@extendkit/core";
import { uploadFileFromPath } from "@extendkit/core/node";
import { type Emulator, startEmulator } from "@extendkit/emulator";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";

const WORKFLOW = "workflow_invoices";
const REVIEW_WORKFLOW = "workflow_invoices_review";
const CLASSIFIER = "dp_document_classifier";
const EXTRACTOR = "dp_invoice_extractor";

let emulator: Emulator;
let extend: ExtendClient;
/** Where the emulator stores uploaded bytes: watched by the streaming test. */
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "extendkit-integration-"));
  emulator = await startEmulator({ port: 0, pageLatencyMs: 0, dataDir });
  extend = clientFor().extend;
});

afterAll(async () => {
  await emulator?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A client whose real `fetch` records what went on the wire, and the JSON answered to GETs. */
function clientFor(options: Partial<ClientOptions> = {}, target?: Emulator) {
  const on = target ?? emulator;
  const requests: string[] = [];
  const pages: Array<Record<string, unknown>> = [];
  const fetch = async (request: Request) => {
    requests.push(`${request.method} ${new URL(request.url).pathname}`);
    const response = await globalThis.fetch(request);
    if (request.method === "GET" && response.ok) pages.push(await response.clone().json());
    return response;
  };
  const extend = createClient({
    baseUrl: on.url,
    token: on.token,
    fetch,
    random: () => 0,
    ...options,
  });
  return { extend, requests, pages };
}

async function admin(method: string, route: string, body?: unknown) {
  const response = await fetch(`${emulator.url}/_emulator${route}`, {
    method,
    headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`admin ${method} ${route} → ${response.status}`);
  return response.json();
}

function invoiceText(n: number) {
  return [
    "ACME Supplies Ltd",
    "INVOICE",
    `Invoice Number: INV-${String(n).padStart(4, "0")}`,
    "Invoice Date: 2025-03-14",
    "Bill To: Globex Corporation",
    `Total Due: $${(100 + n).toFixed(2)}`,
  ].join("\n");
}

async function runWorkflow(workflowId = WORKFLOW, n = 1) {
  const { data, error } = await extend.POST("/workflow_runs", {
    body: { workflowId, rawTexts: [invoiceText(n)] },
  });
  expect(error).toBeUndefined();
  return data!.workflowRuns[0]!;
}

async function uploadText(name: string, text: string) {
  const { data, error } = await uploadFile(extend, new Blob([text], { type: "text/plain" }), {
    name,
  });
  expect(error).toBeUndefined();
  return data!.file;
}

/** The stored bytes of a file, downloaded from its `presignedUrl` (no token). */
async function downloaded(fileId: string): Promise<Uint8Array> {
  const { data, error } = await extend.GET("/files/{id}", { params: { path: { id: fileId } } });
  expect(error).toBeUndefined();
  const response = await fetch(data!.file.presignedUrl!);
  expect(response.status).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * Checks a paginated walk: every item once, in the order of the same list read in one page,
 * over at least three pages of at most two items, the created items in creation order.
 */
function expectPaged(
  walked: Array<{ id: string }>,
  pages: Array<Record<string, unknown>>,
  key: string,
  oneShot: Array<{ id: string }>,
  created: string[],
) {
  const ids = walked.map((item) => item.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(oneShot.map((item) => item.id));
  expect(ids.filter((id) => created.includes(id))).toEqual(created);
  expect(pages.length).toBeGreaterThanOrEqual(3);
  expect(pages.length).toBe(Math.ceil(ids.length / 2));
  for (const page of pages) expect((page[key] as unknown[]).length).toBeLessThanOrEqual(2);
  for (const page of pages.slice(0, -1)) expect(page.nextPageToken).toEqual(expect.any(String));
}

describe("paginate() over the six list endpoints (maxPageSize 2)", () => {
  test("/workflow_runs", async () => {
    const created: string[] = [];
    for (let n = 0; n < 5; n++) created.push((await runWorkflow(WORKFLOW, n)).id);
    await emulator.idle();
    const query = { workflowId: WORKFLOW, sortBy: "createdAt", sortDir: "asc" } as const;
    const { extend: c, pages } = clientFor();
    const walked = await collect(
      paginate(c, "/workflow_runs", { query: { ...query, maxPageSize: 2 } }),
    );
    const { data } = await extend.GET("/workflow_runs", {
      params: { query: { ...query, maxPageSize: 1000 } },
    });
    expectPaged(walked, pages, "workflowRuns", data!.workflowRuns, created);
    expect(pages.at(-1)?.nextPageToken).toBeUndefined();
  });

  test("/processor_runs", async () => {
    const created: string[] = [];
    for (let n = 0; n < 5; n++) {
      const { data, error } = await extend.POST("/processor_runs", {
        body: { processorId: CLASSIFIER, rawText: invoiceText(n) },
      });
      expect(error).toBeUndefined();
      created.push(data!.processorRun.id);
    }
    await emulator.idle();
    const query = { processorId: CLASSIFIER, sortBy: "createdAt", sortDir: "asc" } as const;
    const { extend: c, pages } = clientFor();
    const walked = await collect(
      paginate(c, "/processor_runs", { query: { ...query, maxPageSize: 2 } }),
    );
    const { data } = await extend.GET("/processor_runs", {
      params: { query: { ...query, maxPageSize: 1000 } },
    });
    expectPaged(walked, pages, "processorRuns", data!.processorRuns, created);
  });

  test("/processors, whose last page says nextPageToken: null", async () => {
    const created: string[] = [];
    for (let n = 0; n < 4; n++) {
      const { data, error } = await extend.POST("/processors", {
        body: { name: `Paged ${n}`, type: "CLASSIFY", cloneProcessorId: CLASSIFIER },
      });
      expect(error).toBeUndefined();
      created.push(data!.processor.id);
    }
    const query = { sortBy: "createdAt", sortDir: "asc" } as const;
    const { extend: c, pages } = clientFor();
    const walked = await collect(
      paginate(c, "/processors", { query: { ...query, maxPageSize: 2 } }),
    );
    const { data } = await extend.GET("/processors", {
      params: { query: { ...query, maxPageSize: 1000 } },
    });
    expectPaged(walked, pages, "processors", data!.processors, created);
    expect(walked.map((p) => p.id)).toEqual(expect.arrayContaining([CLASSIFIER, EXTRACTOR]));
    expect(pages.at(-1)).toHaveProperty("nextPageToken", null);
  });

  test("/files", async () => {
    const created: string[] = [];
    for (let n = 0; n < 5; n++) created.push((await uploadText(`paged-${n}.txt`, `${n}`)).id);
    const query = { nameContains: "paged-", sortDir: "asc" } as const;
    const { extend: c, pages } = clientFor();
    const walked = await collect(paginate(c, "/files", { query: { ...query, maxPageSize: 2 } }));
    const { data } = await extend.GET("/files", {
      params: { query: { ...query, maxPageSize: 1000 } },
    });
    expectPaged(walked, pages, "files", data!.files, created);
    expect(walked.map((f) => f.id)).toEqual(created);
  });

  test("/evaluation_sets and /evaluation_sets/{id}/items", async () => {
    const { data: processor } = await extend.POST("/processors", {
      body: { name: "Sets owner", type: "EXTRACT", cloneProcessorId: EXTRACTOR },
    });
    const processorId = processor!.processor.id;
    const sets: string[] = [];
    for (let n = 0; n < 5; n++) {
      const { data, error } = await extend.POST("/evaluation_sets", {
        body: { name: `Set ${n}`, description: "paged", processorId },
      });
      expect(error).toBeUndefined();
      sets.push(data!.evaluationSet.id);
    }
    const setsQuery = { processorId, sortBy: "createdAt", sortDir: "asc" } as const;
    const setsClient = clientFor();
    const walkedSets = await collect(
      paginate(setsClient.extend, "/evaluation_sets", {
        query: { ...setsQuery, maxPageSize: 2 },
      }),
    );
    const { data: allSets } = await extend.GET("/evaluation_sets", {
      params: { query: { ...setsQuery, maxPageSize: 1000 } },
    });
    expectPaged(walkedSets, setsClient.pages, "evaluationSets", allSets!.evaluationSets, sets);
    expect(walkedSets.map((s) => s.id)).toEqual(sets);

    const setId = sets[0]!;
    const file = await uploadText("item.txt", invoiceText(7));
    const items: string[] = [];
    for (let n = 0; n < 5; n++) {
      const { data, error } = await extend.POST("/evaluation_set_items", {
        body: {
          evaluationSetId: setId,
          fileId: file.id,
          expectedOutput: { value: { invoice_number: `INV-${String(n).padStart(4, "0")}` } },
        },
      });
      expect(error).toBeUndefined();
      items.push(data!.evaluationSetItem.id);
    }
    const itemsQuery = { sortBy: "createdAt", sortDir: "asc" } as const;
    const itemsClient = clientFor();
    const walkedItems = await collect(
      paginate(itemsClient.extend, "/evaluation_sets/{id}/items", {
        path: { id: setId },
        query: { ...itemsQuery, maxPageSize: 2 },
      }),
    );
    const { data: allItems } = await extend.GET("/evaluation_sets/{id}/items", {
      params: { path: { id: setId }, query: { ...itemsQuery, maxPageSize: 1000 } },
    });
    expectPaged(
      walkedItems,
      itemsClient.pages,
      "evaluationSetItems",
      allItems!.evaluationSetItems,
      items,
    );
    expect(walkedItems.map((i) => i.id)).toEqual(items);
  });
});

/** A one-page PDF form with a text field and a checkbox. */
async function formPdf(): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const page = pdf.addPage([612, 792]);
  page.drawText("Application form", { x: 72, y: 720, size: 18, font });
  const form = pdf.getForm();
  form.createTextField("full_name").addToPage(page, { x: 72, y: 600, width: 240, height: 24 });
  form.createCheckBox("agree_terms").addToPage(page, { x: 72, y: 560, width: 16, height: 16 });
  return pdf.save();
}

const fast = { intervalMs: 20, maxIntervalMs: 50, timeoutMs: 15_000 };

describe("waiting for runs", () => {
  test("waitForWorkflowRun returns the PROCESSED run with its outputs", async () => {
    const created = await runWorkflow(WORKFLOW, 11);
    const seen: string[] = [];
    const run = await waitForWorkflowRun(extend, created.id, {
      ...fast,
      onPoll: (status) => seen.push(status),
    });
    expect(run).toMatchObject({ id: created.id, status: "PROCESSED" });
    expect(run.outputs.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe("PROCESSED");
  });

  test("NEEDS_REVIEW ends a workflow-run wait", async () => {
    const created = await runWorkflow(REVIEW_WORKFLOW, 12);
    const run = await waitForWorkflowRun(extend, created.id, fast);
    expect(run).toMatchObject({ id: created.id, status: "NEEDS_REVIEW" });
  });

  test("waitForProcessorRun returns the PROCESSED run with its output", async () => {
    const { data, error } = await extend.POST("/processor_runs", {
      body: { processorId: CLASSIFIER, rawText: invoiceText(13) },
    });
    expect(error).toBeUndefined();
    const run = await waitForProcessorRun(extend, data!.processorRun.id, fast);
    expect(run).toMatchObject({ id: data!.processorRun.id, status: "PROCESSED" });
    expect(run.output).toBeTruthy();
  });

  test("waitForParserRun (after POST /parse/async) returns the full run with its chunks", async () => {
    const file = await uploadText("parse-me.txt", invoiceText(14));
    const { data, error } = await extend.POST("/parse/async", {
      body: { file: { fileId: file.id } },
    });
    expect(error).toBeUndefined();
    expect(data?.status).toBe("PROCESSING");
    const run = await waitForParserRun(extend, data!.id, fast);
    expect(run).toMatchObject({
      object: "parser_run",
      id: data!.id,
      fileId: file.id,
      status: "PROCESSED",
    });
    expect(run.chunks.length).toBeGreaterThan(0);
    expect(run.chunks.map((chunk) => chunk.content).join("\n")).toContain("INV-0014");
  });

  test("waitForEditRun (after POST /edit/async on a PDF form) returns the finished edit", async () => {
    const { data: uploaded, error: uploadError } = await uploadFile(extend, await formPdf(), {
      name: "form.pdf",
      contentType: "application/pdf",
    });
    expect(uploadError).toBeUndefined();
    const fileId = uploaded!.file.id;
    const { data: generated } = await extend.POST("/edit_schemas/generate", {
      body: { file: { fileId } },
    });
    // The answer's schema, typed for a request (the generated answer type is looser).
    const schema: Schemas["EditRootJsonSchema"] = JSON.parse(JSON.stringify(generated!.schema));
    const filled = { full_name: "Ada Lovelace", agree_terms: true };
    for (const [key, value] of Object.entries(filled))
      schema.properties[key] = { ...schema.properties[key], "extend_edit:value": value };
    const { data, error } = await extend.POST("/edit/async", {
      body: { file: { fileId }, config: { schema } },
    });
    expect(error).toBeUndefined();
    expect(data?.status).toBe("PROCESSING");
    const run = await waitForEditRun(extend, data!.id, fast);
    expect(run).toMatchObject({
      object: "edit_run",
      id: data!.id,
      fileId,
      status: "PROCESSED",
      output: filled,
    });
    const edited = await fetch(run.editedFile!.downloadUrl!);
    const form = (await PDFDocument.load(await edited.arrayBuffer())).getForm();
    expect(form.getTextField("full_name").getText()).toBe("Ada Lovelace");
    expect(form.getCheckBox("agree_terms").isChecked()).toBe(true);
  });

  describe("on an emulator where a page takes a minute", () => {
    let slow: Emulator;
    beforeAll(async () => {
      slow = await startEmulator({ port: 0, pageLatencyMs: 60_000 });
    });
    afterAll(() => slow?.close());

    async function slowRun() {
      const { extend: c } = clientFor({}, slow);
      const { data, error } = await c.POST("/workflow_runs", {
        body: { workflowId: WORKFLOW, rawTexts: [invoiceText(20)] },
      });
      expect(error).toBeUndefined();
      return { c, id: data!.workflowRuns[0]!.id };
    }

    test("a run that cannot finish in time ends the wait with a PollingTimeoutError and its last status", async () => {
      const { c, id } = await slowRun();
      const seen: string[] = [];
      const started = performance.now();
      const failure = await waitForWorkflowRun(c, id, {
        intervalMs: 20,
        timeoutMs: 300,
        onPoll: (status) => seen.push(status),
      }).catch((error: unknown) => error);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(failure).toBeInstanceOf(PollingTimeoutError);
      const timeout = failure as PollingTimeoutError;
      expect(timeout).toMatchObject({ runId: id, timeoutMs: 300 });
      expect(["PENDING", "PROCESSING"]).toContain(timeout.lastStatus);
      expect(timeout.lastStatus).toBe(seen.at(-1));
      expect(seen.length).toBeGreaterThan(1);
    });

    test("aborting a wait rejects with the abort reason", async () => {
      const { c, id } = await slowRun();
      const controller = new AbortController();
      const reason = new Error("the user left");
      const started = performance.now();
      const pending = waitForWorkflowRun(c, id, {
        intervalMs: 10_000,
        signal: controller.signal,
      }).catch((error: unknown) => error);
      setTimeout(() => controller.abort(reason), 100);
      expect(await pending).toBe(reason);
      expect(performance.now() - started).toBeLessThan(5_000);
    });

    test("aborting while a poll is in flight cancels that request at once", async () => {
      const { id } = await slowRun();
      // Every GET of the run now takes 30 s to answer.
      const response = await fetch(`${slow.url}/_emulator/faults`, {
        method: "PUT",
        headers: { authorization: `Bearer ${slow.token}`, "content-type": "application/json" },
        body: JSON.stringify({
          rules: [{ type: "latency", ms: 30_000, operations: ["getWorkflowRun"] }],
        }),
      });
      expect(response.status).toBe(200);
      const { extend: watched, requests } = clientFor({}, slow);
      const controller = new AbortController();
      const reason = new Error("the user left");
      const started = performance.now();
      const pending = waitForWorkflowRun(watched, id, { signal: controller.signal }).catch(
        (error: unknown) => error,
      );
      const deadline = performance.now() + 5_000;
      while (requests.length === 0 && performance.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 5));
      expect(requests).toEqual([`GET /workflow_runs/${id}`]);
      controller.abort(reason);
      expect(await pending).toBe(reason);
      expect(performance.now() - started).toBeLessThan(5_000);
      await fetch(`${slow.url}/_emulator/faults`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${slow.token}` },
      });
    });
  });
});

describe("uploads", () => {
  afterEach(() => admin("DELETE", "/faults"));

  const text = (label: string) => new TextEncoder().encode(`${label}\n${invoiceText(30)}\n`);

  test("from a Blob, with the name given", async () => {
    const bytes = text("blob");
    const { data, error } = await uploadFile(extend, new Blob([bytes], { type: "text/plain" }), {
      name: "from-blob.txt",
    });
    expect(error).toBeUndefined();
    expect(data?.file).toMatchObject({ object: "file", name: "from-blob.txt", type: "TXT" });
    expect(await downloaded(data!.file.id)).toEqual(bytes);
  });

  test("from a File, named after it", async () => {
    const bytes = text("file");
    const file = new File([bytes], "named-by-the-file.txt", { type: "text/plain" });
    const { data, error } = await uploadFile(extend, file);
    expect(error).toBeUndefined();
    expect(data?.file.name).toBe("named-by-the-file.txt");
    expect(await downloaded(data!.file.id)).toEqual(bytes);
  });

  test("from a Uint8Array, which needs a name (a TypeError without one, before any request)", async () => {
    const bytes = text("bytes");
    const c = clientFor();
    await expect(uploadFile(c.extend, bytes)).rejects.toThrow(TypeError);
    expect(c.requests).toEqual([]);
    const { data, error } = await uploadFile(c.extend, bytes, { name: "from-bytes.txt" });
    expect(error).toBeUndefined();
    expect(data?.file.name).toBe("from-bytes.txt");
    expect(await downloaded(data!.file.id)).toEqual(bytes);
  });

  test("from a web ReadableStream: the stored bytes are the source's", async () => {
    const parts = [text("stream part 1"), text("stream part 2"), text("stream part 3")];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        controller.close();
      },
    });
    const { data, error } = await uploadFile(extend, stream, { name: "from-stream.txt" });
    expect(error).toBeUndefined();
    expect(data?.file.name).toBe("from-stream.txt");
    expect(await downloaded(data!.file.id)).toEqual(new Uint8Array(Buffer.concat(parts)));
  });

  test("from a path with uploadFileFromPath, named after the file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "extendkit-upload-"));
    try {
      const file = path.join(dir, "from-path.txt");
      const bytes = text("path");
      await writeFile(file, bytes);
      const { data, error } = await uploadFileFromPath(extend, file);
      expect(error).toBeUndefined();
      expect(data?.file).toMatchObject({ name: "from-path.txt", type: "TXT" });
      expect(await downloaded(data!.file.id)).toEqual(bytes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a Blob upload answered 429 is rebuilt and sent again: exactly one file is stored", async () => {
    await admin("PUT", "/faults", {
      rules: [{ type: "rate-limit", count: 1, operations: ["uploadFile"] }],
    });
    const name = `retried-${Date.now()}.txt`;
    const bytes = text("retried");
    const c = clientFor();
    const { data, error } = await uploadFile(c.extend, new Blob([bytes]), { name });
    expect(error).toBeUndefined();
    expect(c.requests).toEqual(["POST /files/upload", "POST /files/upload"]);
    const { data: list } = await extend.GET("/files", {
      params: { query: { nameContains: name, maxPageSize: 1000 } },
    });
    expect(list!.files.map((f) => f.id)).toEqual([data!.file.id]);
    expect(await downloaded(data!.file.id)).toEqual(bytes);
  });

  // Streaming 64 MiB through the emulator takes seconds alone and far longer beside every
  // other suite on a two-core machine: the bound is a safety net, not a measure.
  describe("a 64 MiB file is streamed, not held in memory", { timeout: 120_000 }, () => {
    const CHUNK = 64 * 1024;
    const CHUNKS = 1024;
    const SIZE = CHUNK * CHUNKS;

    /** Chunk `i` of the big file: printable text, different for every chunk. */
    function chunk(i: number): Uint8Array {
      const line = `chunk ${String(i).padStart(6, "0")} of the streamed upload test\n`;
      return new Uint8Array(Buffer.alloc(CHUNK, line));
    }

    function expectedDigest() {
      const hash = createHash("sha256");
      for (let i = 0; i < CHUNKS; i++) hash.update(chunk(i));
      return hash.digest("hex");
    }

    async function storedDigest(fileId: string) {
      const { data } = await extend.GET("/files/{id}", { params: { path: { id: fileId } } });
      const response = await fetch(data!.file.presignedUrl!);
      const hash = createHash("sha256");
      let size = 0;
      for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(part);
        size += part.length;
      }
      return { digest: hash.digest("hex"), size };
    }

    /**
     * Runs `work` while sampling memory; answers its result, the peak growth of the heap, and
     * the peak growth of live ArrayBuffer memory (measured after a collection). V8 keeps the
     * bytes of buffers outside `heapUsed`, so a client holding the file in buffers would not
     * show in the heap: the second measure sees it.
     */
    async function memoryGrowthDuring<T>(work: () => Promise<T>) {
      const collect = (globalThis as { gc?: () => void }).gc;
      if (!collect) throw new Error("run with --expose-gc (vitest.config.ts sets it)");
      collect();
      const start = process.memoryUsage();
      let heapPeak = start.heapUsed;
      let livePeak = start.arrayBuffers;
      const sample = () => {
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
        collect();
        livePeak = Math.max(livePeak, process.memoryUsage().arrayBuffers);
      };
      // A full collection takes tens of milliseconds here: sample a few times a second.
      const timer = setInterval(sample, 250);
      try {
        const result = await work();
        sample();
        return {
          result,
          heapGrowth: heapPeak - start.heapUsed,
          liveBufferGrowth: livePeak - start.arrayBuffers,
        };
      } finally {
        clearInterval(timer);
      }
    }

    /** Bytes of the upload files the emulator has written so far, beyond `known`. */
    function receivedBytes(known: Set<string>) {
      let total = 0;
      for (const name of readdirSync(dataDir)) {
        if (known.has(name)) continue;
        try {
          total += statSync(path.join(dataDir, name)).size;
        } catch {
          // Removed meanwhile.
        }
      }
      return total;
    }

    test("from a ReadableStream: sent as it is read, with little heap growth", async () => {
      const known = new Set(readdirSync(dataDir));
      let next = 0;
      /** What the emulator had stored when the source was half read. */
      let storedAtHalf = -1;
      const source = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (next === CHUNKS / 2) storedAtHalf = receivedBytes(known);
            if (next === CHUNKS) controller.close();
            else controller.enqueue(chunk(next++));
          },
        },
        { highWaterMark: 0 },
      );
      const { result, heapGrowth, liveBufferGrowth } = await memoryGrowthDuring(() =>
        uploadFile(extend, source, { name: "big-stream.txt", contentType: "text/plain" }),
      );
      expect(result.error).toBeUndefined();
      expect(heapGrowth).toBeLessThan(SIZE / 2);
      expect(liveBufferGrowth).toBeLessThan(SIZE / 2);
      // The emulator was writing the file while the source was still being read.
      expect(storedAtHalf).toBeGreaterThan(0);
      expect(await storedDigest(result.data!.file.id)).toEqual({
        digest: expectedDigest(),
        size: SIZE,
      });
    });

    test("from a path with uploadFileFromPath, with little heap growth", async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "extendkit-upload-"));
      try {
        const file = path.join(dir, "big-path.txt");
        const out = createWriteStream(file);
        for (let i = 0; i < CHUNKS; i++) {
          if (!out.write(chunk(i)))
            await new Promise<void>((resolve) => out.once("drain", () => resolve()));
        }
        out.end();
        await finished(out);
        expect(statSync(file).size).toBe(SIZE);

        const { result, heapGrowth, liveBufferGrowth } = await memoryGrowthDuring(() =>
          uploadFileFromPath(extend, file),
        );
        expect(result.error).toBeUndefined();
        expect(result.data?.file.name).toBe("big-path.txt");
        expect(heapGrowth).toBeLessThan(SIZE / 2);
        expect(liveBufferGrowth).toBeLessThan(SIZE / 2);
        expect(await storedDigest(result.data!.file.id)).toEqual({
          digest: expectedDigest(),
          size: SIZE,
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
