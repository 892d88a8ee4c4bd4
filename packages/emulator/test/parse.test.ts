import { PDFDocument, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

interface Line {
  text: string;
  x?: number;
  y: number;
  size?: number;
}

/** A PDF of letter pages, each a list of lines drawn in Helvetica at the given positions. */
async function pdfOf(pages: Line[][]): Promise<Uint8Array<ArrayBuffer>> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = pdf.addPage([612, 792]);
    for (const line of lines)
      page.drawText(line.text, { x: line.x ?? 72, y: line.y, size: line.size ?? 12, font });
  }
  return new Uint8Array(await pdf.save());
}

/** Lines of body text from the top margin down, 20 points apart. */
const body = (...texts: string[]): Line[] => texts.map((text, i) => ({ text, y: 720 - i * 20 }));

const upload = (name: string, bytes: Uint8Array | string) => t.upload(name, bytes);

async function presignedUrl(fileId: string) {
  const { data } = await t.client.GET("/files/{id}", { params: { path: { id: fileId } } });
  return data!.file.presignedUrl!;
}

async function getRun(id: string) {
  const { data, error } = await t.client.GET("/parser_runs/{id}", { params: { path: { id } } });
  expect(error).toBeUndefined();
  expect(data?.success).toBe(true);
  return data!.parserRun;
}

/** Three pages of an invoice, one sentence pair per page. */
const threePages = [
  body("Invoice INV-0042", "Bill to: Globex Corporation"),
  body("Line items: 3 widgets", "Shipping: ground"),
  body("Total due: 125.00 USD", "Thank you for your business"),
];

/** Headings (20 pt) over body text (11 pt); the second section runs onto page 2. */
const sectionedPages: Line[][] = [
  [
    { text: "Introduction", y: 720, size: 20 },
    { text: "This agreement sets out the terms.", y: 690, size: 11 },
    { text: "It applies from the start date.", y: 676, size: 11 },
    { text: "Payment Terms", y: 630, size: 20 },
    { text: "Invoices are due within thirty days.", y: 600, size: 11 },
  ],
  [
    { text: "Late payments accrue interest.", y: 720, size: 11 },
    { text: "Termination", y: 680, size: 20 },
    { text: "Either party may end this agreement.", y: 650, size: 11 },
  ],
];

describe("POST /parse", () => {
  test("answers the bare parser run: one page chunk per page, with blocks, metrics and the effective config", async () => {
    const file = await upload("invoice.pdf", await pdfOf(threePages));
    const { data, error, response } = await t.client.POST("/parse", {
      body: { file: { fileId: file.id } },
    });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    const run = data!;
    expect(run).not.toHaveProperty("success");
    expect(run.object).toBe("parser_run");
    expect(run.id).toMatch(/^parser_run_[A-Za-z0-9_-]{20}$/);
    expect(run.fileId).toBe(file.id);
    expect(run.status).toBe("PROCESSED");
    expect(run).not.toHaveProperty("failureReason");
    expect(run.metrics.pageCount).toBe(3);
    expect(run.metrics.processingTimeMs).toBeGreaterThanOrEqual(0);
    expect(run.config).toEqual({
      target: "markdown",
      chunkingStrategy: { type: "page" },
      engine: "parse_performance",
    });
    expect(run.chunks.map((c) => [c.object, c.type, c.metadata.pageRange])).toEqual([
      ["chunk", "page", { start: 1, end: 1 }],
      ["chunk", "page", { start: 2, end: 2 }],
      ["chunk", "page", { start: 3, end: 3 }],
    ]);
    expect(run.chunks[0]?.content).toContain("Invoice INV-0042");
    expect(run.chunks[0]?.content).not.toContain("Total due");
    expect(run.chunks[2]?.content).toContain("Total due: 125.00 USD");
    for (const [i, chunk] of run.chunks.entries()) {
      expect(chunk.blocks.length).toBeGreaterThan(0);
      for (const block of chunk.blocks) {
        expect(block.object).toBe("block");
        expect(block.id).toEqual(expect.any(String));
        expect(block.metadata.page).toEqual({ number: i + 1, width: 612, height: 792 });
        const { left, top, right, bottom } = block.boundingBox;
        expect(block.polygon).toEqual([
          { x: left, y: top },
          { x: right, y: top },
          { x: right, y: bottom },
          { x: left, y: bottom },
        ]);
      }
    }
  });

  test("places a block where its text stands, in points from the page's top-left corner", async () => {
    // Drawn at x=72 with baselines 720 and 700 points above the bottom of a 792-point page.
    const file = await upload("geometry.pdf", await pdfOf([body("First line", "Second line")]));
    const { data } = await t.client.POST("/parse", { body: { file: { fileId: file.id } } });
    const blocks = data!.chunks[0]!.blocks;
    expect(blocks.map((b) => [b.type, b.content])).toEqual([["text", "First line\nSecond line"]]);
    const box = blocks[0]!.boundingBox;
    expect(box.left).toBeCloseTo(72, 0);
    expect(box.top).toBeCloseTo(792 - 720 - 12, 0);
    expect(box.bottom).toBeCloseTo(792 - 700, 0);
    expect(box.right!).toBeGreaterThan(box.left! + 40);
    expect(box.right!).toBeLessThan(612);
  });

  test("gives a block the same id each time the same file is parsed", async () => {
    const file = await upload("stable.pdf", await pdfOf(threePages));
    const ids = async () => {
      const { data } = await t.client.POST("/parse", { body: { file: { fileId: file.id } } });
      return data!.chunks.flatMap((c) => c.blocks.map((b) => b.id));
    };
    const first = await ids();
    expect(new Set(first).size).toBe(first.length);
    expect(await ids()).toEqual(first);
  });

  test("with document chunking, answers one chunk spanning every page", async () => {
    const file = await upload("document.pdf", await pdfOf(threePages));
    const { data } = await t.client.POST("/parse", {
      body: { file: { fileId: file.id }, config: { chunkingStrategy: { type: "document" } } },
    });
    expect(data?.config.chunkingStrategy).toEqual({ type: "document" });
    expect(data?.chunks).toHaveLength(1);
    const chunk = data!.chunks[0]!;
    expect(chunk.type).toBe("document");
    expect(chunk.metadata.pageRange).toEqual({ start: 1, end: 3 });
    const content = chunk.content;
    expect(content.indexOf("Invoice INV-0042")).toBeGreaterThanOrEqual(0);
    expect(content.indexOf("Line items")).toBeGreaterThan(content.indexOf("Invoice INV-0042"));
    expect(content.indexOf("Total due")).toBeGreaterThan(content.indexOf("Line items"));
    expect([...new Set(chunk.blocks.map((b) => b.metadata.page?.number))]).toEqual([1, 2, 3]);
  });

  test("with section chunking, starts a chunk at each heading, across page breaks", async () => {
    const file = await upload("sections.pdf", await pdfOf(sectionedPages));
    const { data } = await t.client.POST("/parse", {
      body: { file: { fileId: file.id }, config: { chunkingStrategy: { type: "section" } } },
    });
    const chunks = data!.chunks;
    expect(chunks.map((c) => [c.type, c.metadata.pageRange])).toEqual([
      ["section", { start: 1, end: 1 }],
      ["section", { start: 1, end: 2 }],
      ["section", { start: 2, end: 2 }],
    ]);
    expect(chunks.map((c) => [c.blocks[0]?.type, c.blocks[0]?.content])).toEqual([
      ["heading", "Introduction"],
      ["heading", "Payment Terms"],
      ["heading", "Termination"],
    ]);
    expect(chunks[0]?.content).toBe(
      "## Introduction\n\nThis agreement sets out the terms.\nIt applies from the start date.",
    );
    expect(chunks[1]?.content).toContain("Invoices are due within thirty days.");
    expect(chunks[1]?.content).toContain("Late payments accrue interest.");
    expect(chunks[1]?.content).not.toContain("Termination");
    expect(chunks[2]?.content).toBe("## Termination\n\nEither party may end this agreement.");
  });

  test("with target spatial, renders lines as placed on the page instead of markdown", async () => {
    const pages: Line[][] = [
      [
        { text: "Summary", y: 720, size: 20 },
        { text: "Left column", x: 72, y: 680 },
        { text: "Indented text", x: 216, y: 650 },
      ],
    ];
    const file = await upload("spatial.pdf", await pdfOf(pages));
    const spatial = await t.client.POST("/parse", {
      body: { file: { fileId: file.id }, config: { target: "spatial" } },
    });
    expect(spatial.data?.config).toEqual({
      target: "spatial",
      chunkingStrategy: { type: "page" },
      engine: "parse_performance",
    });
    const lines = spatial.data!.chunks[0]!.content.split("\n");
    const indent = (text: string) => {
      const line = lines.find((l) => l.trim() === text);
      expect(line, `a line "${text}" in ${JSON.stringify(lines)}`).toBeDefined();
      return line!.length - line!.trimStart().length;
    };
    expect(indent("Summary")).toBe(indent("Left column"));
    expect(indent("Indented text")).toBeGreaterThan(indent("Left column") + 15);
    expect(spatial.data!.chunks[0]!.content).not.toContain("## ");

    const markdown = await t.client.POST("/parse", { body: { file: { fileId: file.id } } });
    expect(markdown.data!.chunks[0]!.content).toContain("## Summary");
  });

  test("parses a file given by URL, recording it as a new file", async () => {
    const source = await upload("source.pdf", await pdfOf(threePages));
    const { data } = await t.client.POST("/parse", {
      body: { file: { fileUrl: await presignedUrl(source.id), fileName: "by-url.pdf" } },
    });
    expect(data?.status).toBe("PROCESSED");
    expect(data?.metrics.pageCount).toBe(3);
    expect(data?.fileId).toMatch(/^file_/);
    expect(data?.fileId).not.toBe(source.id);
    const { data: file } = await t.client.GET("/files/{id}", {
      params: { path: { id: data!.fileId } },
    });
    expect(file?.file).toMatchObject({ name: "by-url.pdf", type: "PDF" });
  });

  test("with responseType=url, moves the chunks behind a URL that downloads them as JSON", async () => {
    const file = await upload("by-reference.pdf", await pdfOf(threePages));
    const { data } = await t.client.POST("/parse", {
      params: { query: { responseType: "url" } },
      body: { file: { fileId: file.id } },
    });
    expect(data?.status).toBe("PROCESSED");
    expect(data?.chunks).toEqual([]);
    expect(data?.responseUrl).toMatch(/^http:\/\//);
    const response = await fetch(data!.responseUrl!);
    expect(response.status).toBe(200);
    const chunks = await response.json();
    expect(chunks).toHaveLength(3);
    // The run keeps its chunks: fetched as JSON they are the ones behind the URL.
    const run = await getRun(data!.id);
    expect(run.object === "parser_run" && run.chunks).toEqual(chunks);
    expect(run).not.toHaveProperty("responseUrl");
  });

  test.each([
    ["no file", {}, "INVALID_REQUEST", /body\.file is required/],
    [
      "a file with neither fileUrl nor fileId",
      { file: { fileName: "x.pdf" } },
      "INVALID_REQUEST",
      /body\.file must include one of `fileId` or `fileUrl`/,
    ],
    [
      "a fileUrl that is not a URL",
      { file: { fileUrl: "not a url" } },
      "INVALID_REQUEST",
      /body\.file\.fileUrl must match format "uri"/,
    ],
    [
      "an unknown target",
      { file: { fileId: "file_x" }, config: { target: "html" } },
      "INVALID_REQUEST",
      /body\.config\.target must be one of "markdown", "spatial"/,
    ],
    [
      "an unknown chunking strategy",
      { file: { fileId: "file_x" }, config: { chunkingStrategy: { type: "paragraph" } } },
      "INVALID_REQUEST",
      /body\.config\.chunkingStrategy\.type must be one of "page", "document", "section"/,
    ],
    [
      "section chunking with the spatial target",
      {
        file: { fileId: "file_x" },
        config: { target: "spatial", chunkingStrategy: { type: "section" } },
      },
      "INVALID_CONFIG_OPTIONS",
      /section.*spatial/,
    ],
  ])(
    "refuses a request with %s with 400 and an ExtendError body, sync or async",
    async (_what, request, code, message) => {
      for (const path of ["/parse", "/parse/async"]) {
        const { status, body, headers } = await t.request("POST", path, { body: request });
        expect(status, path).toBe(400);
        expect(body).toMatchObject({ code, retryable: false, requestId: expect.any(String) });
        expect(body.requestId).toBe(headers.get("x-request-id"));
        expect(body.message).toMatch(message);
      }
    },
  );

  test("answers 404 for an unknown fileId, sync or async", async () => {
    for (const path of ["/parse", "/parse/async"]) {
      const { status, body } = await t.request("POST", path, {
        body: { file: { fileId: "file_doesnotexist" } },
      });
      expect(status, path).toBe(404);
      expect(body).toMatchObject({ code: "NOT_FOUND", retryable: false });
      expect(body.message).toContain("file_doesnotexist");
    }
  });

  test("answers 422 CORRUPT_FILE, not retryable, for a PDF that cannot be read", async () => {
    const file = await upload("broken.pdf", "%PDF-1.7\n\u0001\u0002 this is not a pdf body \u00ff");
    expect(file.type).toBe("PDF");
    const { status, body, headers } = await t.request("POST", "/parse", {
      body: { file: { fileId: file.id } },
    });
    expect(status).toBe(422);
    expect(body).toMatchObject({
      code: "CORRUPT_FILE",
      message: expect.any(String),
      requestId: headers.get("x-request-id"),
      retryable: false,
    });
    expect(body.requestId).toMatch(/^req_/);
  });
});

describe("POST /parse/async", () => {
  test("answers the bare PROCESSING status, and the finished run once the work is done", async () => {
    const file = await upload("async.pdf", await pdfOf(threePages));
    const { data, error } = await t.client.POST("/parse/async", {
      body: { file: { fileId: file.id }, config: { chunkingStrategy: { type: "document" } } },
    });
    expect(error).toBeUndefined();
    expect(data).toEqual({
      object: "parser_run_status",
      id: expect.stringMatching(/^parser_run_[A-Za-z0-9_-]{20}$/),
      status: "PROCESSING",
    });
    await t.emulator.idle();
    const run = await getRun(data!.id);
    expect(run).toMatchObject({
      object: "parser_run",
      id: data!.id,
      fileId: file.id,
      status: "PROCESSED",
      metrics: { pageCount: 3 },
      config: { target: "markdown", chunkingStrategy: { type: "document" } },
    });
    expect(run.object === "parser_run" && run.chunks.map((c) => c.type)).toEqual(["document"]);
  });

  test("ends a run on a corrupt PDF FAILED with failureReason CORRUPT_FILE", async () => {
    const file = await upload("broken-async.pdf", "%PDF-1.7\ngarbage garbage garbage");
    const { data } = await t.client.POST("/parse/async", { body: { file: { fileId: file.id } } });
    expect(data?.status).toBe("PROCESSING");
    await t.emulator.idle();
    const run = await getRun(data!.id);
    expect(run).toMatchObject({
      object: "parser_run",
      status: "FAILED",
      failureReason: "CORRUPT_FILE",
      fileId: file.id,
    });
    expect(run.object === "parser_run" && run.chunks).toEqual([]);
  });

  describe("while no worker has taken the run", () => {
    let paused: TestEmulator;
    beforeAll(async () => {
      paused = await startTestEmulator({ concurrency: 0 });
    });
    afterAll(() => paused.close());

    test("GET answers the status object in its envelope, and DELETE removes the queued run", async () => {
      const { data: run } = await paused.client.POST("/parse/async", {
        body: { file: { fileUrl: "http://127.0.0.1:9/never-fetched.pdf" } },
      });
      const { data } = await paused.client.GET("/parser_runs/{id}", {
        params: { path: { id: run!.id } },
      });
      expect(data).toEqual({
        success: true,
        parserRun: { object: "parser_run_status", id: run!.id, status: "PROCESSING" },
      });
      const deleted = await paused.client.DELETE("/parser_runs/{id}", {
        params: { path: { id: run!.id } },
      });
      expect(deleted.data).toMatchObject({ success: true, parserRunId: run!.id });
      expect((await paused.request("GET", `/parser_runs/${run!.id}`)).status).toBe(404);
      const health = await paused.admin("GET", "/health");
      expect(health.queuedJobs).toBe(0);
    });
  });
});

describe("GET /parser_runs/{id}", () => {
  test("with responseType=url, answers a download URL in place of the chunks", async () => {
    const file = await upload("get-url.pdf", await pdfOf(threePages));
    const { data: created } = await t.client.POST("/parse", {
      body: { file: { fileId: file.id } },
    });
    const { data } = await t.client.GET("/parser_runs/{id}", {
      params: { path: { id: created!.id }, query: { responseType: "url" } },
    });
    const run = data!.parserRun;
    expect(run.object).toBe("parser_run");
    if (run.object !== "parser_run") return;
    expect(run.chunks).toEqual([]);
    expect(await (await fetch(run.responseUrl!)).json()).toEqual(created!.chunks);
  });

  test("answers 404 for an unknown run", async () => {
    const { status, body } = await t.request("GET", "/parser_runs/parser_run_doesnotexist");
    expect(status).toBe(404);
    expect(body.error).toContain("parser_run_doesnotexist");
  });
});

describe("DELETE /parser_runs/{id}", () => {
  test("deletes the run: GET, a second DELETE and its chunks URL answer 404", async () => {
    const file = await upload("delete-run.pdf", await pdfOf(threePages));
    const { data: created } = await t.client.POST("/parse", {
      params: { query: { responseType: "url" } },
      body: { file: { fileId: file.id } },
    });
    const id = created!.id;
    expect((await fetch(created!.responseUrl!)).status).toBe(200);
    const { data } = await t.client.DELETE("/parser_runs/{id}", { params: { path: { id } } });
    expect(data).toMatchObject({ success: true, parserRunId: id });
    expect(data?.message).toEqual(expect.any(String));
    expect((await t.request("GET", `/parser_runs/${id}`)).status).toBe(404);
    expect((await t.request("DELETE", `/parser_runs/${id}`)).status).toBe(404);
    expect((await fetch(created!.responseUrl!)).status).toBe(404);
    // The parsed file is not deleted with the run.
    expect((await t.request("GET", `/files/${file.id}`)).status).toBe(200);
  });
});
