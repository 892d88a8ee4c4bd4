import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

/** A text PDF: one array of lines per page, drawn in Helvetica 12 from the top-left margin. */
async function textPdf(pages: string[][]): Promise<Uint8Array<ArrayBuffer>> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = pdf.addPage([612, 792]);
    lines.forEach((line, i) => {
      page.drawText(line, { x: 72, y: 720 - i * 20, size: 12, font });
    });
  }
  return new Uint8Array(await pdf.save());
}

const bytesOf = (content: Uint8Array<ArrayBuffer> | string) =>
  typeof content === "string" ? new TextEncoder().encode(content) : content;

function uploadForm(name: string, content: Uint8Array<ArrayBuffer> | string, field = "file") {
  const form = new FormData();
  form.append(field, new Blob([bytesOf(content)], { type: "application/octet-stream" }), name);
  return form;
}

async function upload(name: string, content: Uint8Array<ArrayBuffer> | string) {
  const { data, error } = await t.client.POST("/files/upload", {
    body: uploadForm(name, content) as never,
  });
  expect(error).toBeUndefined();
  return data!.file;
}

async function getFile(id: string, query: { rawText?: boolean; markdown?: boolean } = {}) {
  const { data, error } = await t.client.GET("/files/{id}", {
    params: { path: { id }, query },
  });
  expect(error).toBeUndefined();
  return data!.file;
}

/** Downloads a presigned URL with no token at all. */
async function download(url: string) {
  const response = await fetch(url);
  return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()), response };
}

/** Every page of `GET /files` for a query, following `nextPageToken`. */
async function listAll(query: { nameContains: string; sortDir?: "asc" | "desc" }) {
  const pages: { names: string[]; nextPageToken?: string }[] = [];
  let nextPageToken: string | undefined;
  do {
    const { data, error } = await t.client.GET("/files", {
      params: { query: { ...query, maxPageSize: 1, ...(nextPageToken ? { nextPageToken } : {}) } },
    });
    expect(error).toBeUndefined();
    pages.push({
      names: data!.files.map((f) => f.name),
      ...(data!.nextPageToken ? { nextPageToken: data!.nextPageToken } : {}),
    });
    nextPageToken = data!.nextPageToken;
  } while (nextPageToken && pages.length < 10);
  return pages;
}

const invoicePages = [
  ["Invoice INV-0042", "Bill to: Globex Corporation"],
  ["Total due: 125.00 USD", "Thank you for your business"],
];

describe("POST /files/upload", () => {
  test("stores a multipart `file` part and answers the file with its upload name and no contents", async () => {
    const { data, error, response } = await t.client.POST("/files/upload", {
      body: uploadForm("march-invoice.pdf", await textPdf(invoicePages)) as never,
    });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data?.success).toBe(true);
    const file = data!.file;
    expect(file.object).toBe("file");
    expect(file.id).toMatch(/^file_[A-Za-z0-9_-]{20}$/);
    expect(file.name).toBe("march-invoice.pdf");
    expect(file.type).toBe("PDF");
    expect(file.metadata).toEqual(expect.any(Object));
    expect(new Date(file.createdAt).toISOString()).toBe(file.createdAt);
    expect(new Date(file.updatedAt).toISOString()).toBe(file.updatedAt);
    expect(file).not.toHaveProperty("contents");
    // The stored file is the one answered.
    expect((await getFile(file.id)).name).toBe("march-invoice.pdf");
  });

  test.each([
    ["a PDF", "scan.pdf", "pdf", "PDF"],
    ["a .txt file", "notes.txt", "Plain notes\nsecond line", "TXT"],
    ["a .csv file", "table.csv", "sku,qty\nA-1,3\nB-2,5\n", "CSV"],
    ["an .html file", "page.html", "<html><body><h1>Hello</h1><p>World</p></body></html>", "HTML"],
    ["a PDF named .txt (the bytes decide over the name)", "x.txt", "pdf", "PDF"],
  ] as const)("types %s as %s", async (_what, name, content, type) => {
    const bytes = content === "pdf" ? await textPdf([["Typed by its bytes"]]) : content;
    const file = await upload(name, bytes);
    expect(file.name).toBe(name);
    expect(file.type).toBe(type);
  });

  test.each([
    [
      "a multipart body without a `file` part",
      () => ({ raw: uploadForm("a.txt", "hello", "document") }),
      "INVALID_REQUEST",
      /body\.file is required/,
    ],
    [
      "a JSON body",
      () => ({ body: { file: "aGVsbG8=" } }),
      "INVALID_REQUEST",
      /multipart\/form-data/,
    ],
    [
      "an unsupported binary file",
      () => ({
        raw: uploadForm(
          "x.bin",
          new Uint8Array(Array.from({ length: 512 }, (_, i) => (i * 37) % 256)),
        ),
      }),
      "FILE_TYPE_NOT_SUPPORTED",
      /"x\.bin" is not supported/,
    ],
  ] as const)("refuses %s with 400", async (_what, init, code, message) => {
    const { status, body } = await t.request("POST", "/files/upload", init());
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, code, retryable: false });
    expect(body.error).toMatch(message);
  });

  test("keeps no record of a refused upload", async () => {
    const bytes = new Uint8Array(256).fill(0);
    const { status } = await t.request("POST", "/files/upload", {
      raw: uploadForm("refused-zeros.bin", bytes),
    });
    expect(status).toBe(400);
    const { data } = await t.client.GET("/files", {
      params: { query: { nameContains: "refused-zeros" } },
    });
    expect(data?.files).toEqual([]);
  });

  describe("with a 1024-byte upload limit", () => {
    let small: TestEmulator;
    beforeAll(async () => {
      small = await startTestEmulator({ maxUploadBytes: 1024 });
    });
    afterAll(() => small.close());

    test("refuses a file over the limit with 400 FILE_SIZE_TOO_LARGE and keeps nothing", async () => {
      const { status, body } = await small.request("POST", "/files/upload", {
        raw: uploadForm("big.txt", "x".repeat(1025)),
      });
      expect(status).toBe(400);
      expect(body).toMatchObject({ success: false, code: "FILE_SIZE_TOO_LARGE", retryable: false });
      expect(body.error).toContain("1024");
      const { data } = await small.client.GET("/files", {
        params: { query: { nameContains: "big.txt" } },
      });
      expect(data?.files).toEqual([]);
    });

    test("accepts a file of exactly the limit", async () => {
      const { data } = await small.client.POST("/files/upload", {
        body: uploadForm("exact.txt", "y".repeat(1024)) as never,
      });
      expect(data?.file).toMatchObject({ name: "exact.txt", type: "TXT" });
      const got = await small.client.GET("/files/{id}", {
        params: { path: { id: data!.file.id } },
      });
      const { bytes } = await download(got.data!.file.presignedUrl!);
      expect(bytes.length).toBe(1024);
    });
  });
});

describe("GET /files/{id}", () => {
  test("answers the file without contents when no flag is set", async () => {
    const uploaded = await upload("plain.txt", "Just some text");
    const file = await getFile(uploaded.id);
    expect(file).toMatchObject({
      object: "file",
      id: uploaded.id,
      name: "plain.txt",
      type: "TXT",
      createdAt: uploaded.createdAt,
    });
    expect(file).not.toHaveProperty("contents");
    expect(file.presignedUrl).toMatch(/^http:\/\//);
  });

  test("with rawText=true, answers the text of the whole file and of each page", async () => {
    const uploaded = await upload("two-pages.pdf", await textPdf(invoicePages));
    const file = await getFile(uploaded.id, { rawText: true });
    const contents = file.contents!;
    expect(contents.pages?.map((p) => p.pageNumber)).toEqual([1, 2]);
    expect(contents.pages?.map((p) => p.rawText)).toEqual([
      "Invoice INV-0042\nBill to: Globex Corporation",
      "Total due: 125.00 USD\nThank you for your business",
    ]);
    expect(contents.pages?.[0]).toMatchObject({ pageWidth: 612, pageHeight: 792 });
    expect(contents.rawText).toContain("Invoice INV-0042");
    expect(contents.rawText).toContain("Thank you for your business");
    expect(contents.rawText!.indexOf("INV-0042")).toBeLessThan(
      contents.rawText!.indexOf("Total due"),
    );
    expect(contents).not.toHaveProperty("markdown");
  });

  test("with rawText=true on a text file, answers its text unchanged", async () => {
    const text = "Line one\nLine two\nLine three";
    const uploaded = await upload("lines.txt", text);
    const file = await getFile(uploaded.id, { rawText: true });
    expect(file.contents?.rawText).toBe(text);
  });

  test("with markdown=true, answers markdown for the file and each page, and no raw text", async () => {
    const uploaded = await upload("markdown.pdf", await textPdf(invoicePages));
    const file = await getFile(uploaded.id, { markdown: true });
    const contents = file.contents!;
    expect(contents.markdown).toContain("Invoice INV-0042");
    expect(contents.markdown).toContain("Total due: 125.00 USD");
    expect(contents.pages).toHaveLength(2);
    expect(contents.pages?.[1]?.markdown).toContain("Thank you for your business");
    expect(contents.pages?.[1]?.markdown).not.toContain("INV-0042");
    expect(contents).not.toHaveProperty("rawText");
    expect(contents.pages?.[0]).not.toHaveProperty("rawText");
  });

  test("learns a PDF's page count once its contents have been read", async () => {
    const pdf = await textPdf([["one"], ["two"], ["three"]]);
    const uploaded = await upload("three-pages.pdf", pdf);
    expect(uploaded.metadata.pageCount).toBeUndefined();
    const read = await getFile(uploaded.id, { rawText: true });
    expect(read.metadata.pageCount).toBe(3);
    expect((await getFile(uploaded.id)).metadata.pageCount).toBe(3);
  });

  test("answers 404 for an unknown file", async () => {
    const { status, body } = await t.request("GET", "/files/file_doesnotexist");
    expect(status).toBe(404);
    expect(body).toMatchObject({ success: false, code: "NOT_FOUND" });
    expect(body.error).toContain("file_doesnotexist");
  });
});

describe("presigned file URLs", () => {
  test("download the exact uploaded bytes without a token", async () => {
    const pdf = await textPdf(invoicePages);
    const uploaded = await upload("download-me.pdf", pdf);
    const file = await getFile(uploaded.id);
    const { status, bytes, response } = await download(file.presignedUrl!);
    expect(status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/pdf");
    expect(Buffer.from(bytes).equals(Buffer.from(pdf))).toBe(true);
  });

  test.each([
    [
      "a changed signature",
      (url: URL) => {
        const sig = url.searchParams.get("signature")!;
        url.searchParams.set("signature", (sig[0] === "0" ? "1" : "0") + sig.slice(1));
      },
    ],
    [
      "a later expiry",
      (url: URL) => {
        url.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 3600));
      },
    ],
    ["no signature", (url: URL) => url.searchParams.delete("signature")],
    [
      "another file's path",
      (url: URL) => {
        url.pathname = url.pathname.replace(/file_[^/]+/, "file_someoneelse0000000");
      },
    ],
  ])("refuses a URL with %s with 403", async (_what, tamper) => {
    const uploaded = await upload("tamper.txt", "secret bytes");
    const url = new URL((await getFile(uploaded.id)).presignedUrl!);
    expect((await download(url.href)).status).toBe(200);
    tamper(url);
    const { status, bytes } = await download(url.href);
    expect(status).toBe(403);
    expect(new TextDecoder().decode(bytes)).not.toContain("secret bytes");
  });

  test("stops working 15 minutes after it was issued", async () => {
    const uploaded = await upload("expiring.txt", "short-lived");
    const issuedAt = Date.now();
    const url = (await getFile(uploaded.id)).presignedUrl!;
    vi.useFakeTimers({ toFake: ["Date"], now: issuedAt });
    try {
      vi.setSystemTime(issuedAt + 14 * 60_000);
      expect((await download(url)).status).toBe(200);
      vi.setSystemTime(issuedAt + 16 * 60_000);
      expect((await download(url)).status).toBe(403);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("GET /files", () => {
  test("with nameContains, lists only the files whose name contains the text", async () => {
    const a = await upload("contains-invoice-a.txt", "a");
    await upload("contains-receipt-b.txt", "b");
    const c = await upload("contains-invoice-c.txt", "c");
    const { data } = await t.client.GET("/files", {
      params: { query: { nameContains: "contains-invoice" } },
    });
    expect(data?.files.map((f) => f.id).sort()).toEqual([a.id, c.id].sort());
    for (const file of data?.files ?? []) {
      expect(file.object).toBe("file");
      expect(file).not.toHaveProperty("contents");
    }
    const none = await t.client.GET("/files", {
      params: { query: { nameContains: "contains-nothing-like-this" } },
    });
    expect(none.data?.files).toEqual([]);
    expect(none.data).not.toHaveProperty("nextPageToken");
  });

  test("walks every file one page at a time, newest first, with no token on the last page", async () => {
    for (const n of [1, 2, 3]) await upload(`walk-${n}.txt`, `page walk ${n}`);
    const pages = await listAll({ nameContains: "walk-" });
    expect(pages.map((p) => p.names)).toEqual([["walk-3.txt"], ["walk-2.txt"], ["walk-1.txt"]]);
    expect(pages.map((p) => p.nextPageToken === undefined)).toEqual([false, false, true]);
  });

  test("sorts by creation time: sortDir=asc lists the oldest first, desc the newest first", async () => {
    for (const n of [1, 2, 3]) await upload(`order-${n}.txt`, `order ${n}`);
    const asc = await listAll({ nameContains: "order-", sortDir: "asc" });
    expect(asc.flatMap((p) => p.names)).toEqual(["order-1.txt", "order-2.txt", "order-3.txt"]);
    const desc = await listAll({ nameContains: "order-", sortDir: "desc" });
    expect(desc.flatMap((p) => p.names)).toEqual(["order-3.txt", "order-2.txt", "order-1.txt"]);
  });

  test.each([
    ["maxPageSize=0", "maxPageSize=0", /maxPageSize/],
    ["sortDir=sideways", "sortDir=sideways", /sortDir must be one of "asc", "desc"/],
  ])("refuses %s with 400", async (_what, query, message) => {
    const { status, body } = await t.request("GET", `/files?${query}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, code: "INVALID_REQUEST" });
    expect(body.error).toMatch(message);
  });
});

describe("DELETE /files/{id}", () => {
  test("deletes the file and its bytes: GET, a second DELETE and its old URL answer 404", async () => {
    const uploaded = await upload("delete-me.txt", "to be deleted");
    const url = (await getFile(uploaded.id)).presignedUrl!;
    const { data } = await t.client.DELETE("/files/{id}", {
      params: { path: { id: uploaded.id } },
    });
    expect(data).toMatchObject({ success: true, fileId: uploaded.id });
    expect(data?.message).toEqual(expect.any(String));
    expect((await t.request("GET", `/files/${uploaded.id}`)).status).toBe(404);
    expect((await t.request("DELETE", `/files/${uploaded.id}`)).status).toBe(404);
    expect((await download(url)).status).toBe(404);
    const { data: list } = await t.client.GET("/files", {
      params: { query: { nameContains: "delete-me" } },
    });
    expect(list?.files).toEqual([]);
  });
});

describe("POST /files (deprecated)", () => {
  test("creates a TXT file from rawText, under the given name", async () => {
    const text = "Created from raw text\nwith two lines";
    const { data, error } = await t.client.POST("/files", {
      body: { rawText: text, name: "raw-notes.txt" },
    });
    expect(error).toBeUndefined();
    expect(data?.success).toBe(true);
    expect(data?.file).toMatchObject({ object: "file", name: "raw-notes.txt", type: "TXT" });
    expect(data?.file.id).toMatch(/^file_/);
    expect((await getFile(data!.file.id, { rawText: true })).contents?.rawText).toBe(text);
  });

  test("names a rawText file without a name as a .txt file", async () => {
    const { data } = await t.client.POST("/files", { body: { rawText: "nameless" } });
    expect(data?.file.type).toBe("TXT");
    expect(data?.file.name).toMatch(/\.txt$/);
  });

  test("copies the file behind a url into a new file with the same bytes", async () => {
    const pdf = await textPdf(invoicePages);
    const source = await upload("source.pdf", pdf);
    const sourceUrl = (await getFile(source.id)).presignedUrl!;
    const { data, error } = await t.client.POST("/files", {
      body: { url: sourceUrl, name: "copy.pdf" },
    });
    expect(error).toBeUndefined();
    const copy = data!.file;
    expect(copy.id).not.toBe(source.id);
    expect(copy).toMatchObject({ object: "file", name: "copy.pdf", type: "PDF" });
    const copied = await download((await getFile(copy.id)).presignedUrl!);
    expect(Buffer.from(copied.bytes).equals(Buffer.from(pdf))).toBe(true);
    // The source is untouched.
    expect((await getFile(source.id)).name).toBe("source.pdf");
    const { data: listed } = await t.client.GET("/files", {
      params: { query: { nameContains: "copy.pdf" } },
    });
    expect(listed?.files.map((f) => f.id)).toEqual([copy.id]);
  });

  test.each([
    ["an empty body", {}, /must include one of `url` or `rawText`/],
    ["a body with only a name", { name: "x.txt" }, /must include one of `url` or `rawText`/],
    ["a url that is not a URL", { url: "not a url" }, /body\.url must match format "uri"/],
    ["a rawText that is not a string", { rawText: 42 }, /body\.rawText must be string/],
  ])("refuses %s with 400", async (_what, body, message) => {
    const { status, body: error } = await t.request("POST", "/files", { body });
    expect(status).toBe(400);
    expect(error).toMatchObject({ success: false, code: "INVALID_REQUEST", retryable: false });
    expect(error.error).toMatch(message);
  });

  describe("with a url it cannot use", () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url === "/blob.bin") {
          res.writeHead(200, { "content-type": "application/octet-stream" });
          res.end(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
        } else {
          res.writeHead(404).end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test("refuses a url that does not download with 400 UNABLE_TO_DOWNLOAD_FILE", async () => {
      const { status, body } = await t.request("POST", "/files", {
        body: { url: `${base}/missing.pdf` },
      });
      expect(status).toBe(400);
      expect(body).toMatchObject({ success: false, code: "UNABLE_TO_DOWNLOAD_FILE" });
    });

    test("refuses a url serving an unsupported binary with 400 FILE_TYPE_NOT_SUPPORTED", async () => {
      const { status, body } = await t.request("POST", "/files", {
        body: { url: `${base}/blob.bin` },
      });
      expect(status).toBe(400);
      expect(body).toMatchObject({ success: false, code: "FILE_TYPE_NOT_SUPPORTED" });
    });
  });
});
