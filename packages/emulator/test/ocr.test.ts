/**
 * The built-in OCR (tesseract.js with `@tesseract.js-data/eng`, optional dependencies): images
 * and scanned PDFs of the sample invoice extract like the PDF itself, with positions; a user's
 * `ocr` function wins; nothing is downloaded or cached; missing packages give a warning; and
 * the worker ends with the emulator.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { readLayout } from "../src/processors/layout.js";
import {
  createOcrEngine,
  defaultOcrLoader,
  liveOcrThreads,
  liveOcrWorkers,
  OCR_INSTALL,
  workerOptions,
} from "../src/processors/ocr.js";
import { type SampleInvoice, sampleInvoicePdf } from "../src/sample.js";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";
import {
  LETTER_LINES,
  letterPng,
  sampleInvoiceJpeg,
  sampleInvoicePng,
  scannedSampleInvoicePdf,
} from "./helpers/invoice-images.js";

// The first OCR starts tesseract (about a second); each page then takes about one more.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

type Extraction = {
  value: Record<string, unknown>;
  metadata: Record<
    string,
    {
      citations?: Array<{
        page: number;
        referenceText: string;
        polygon: Array<{ x: number; y: number }>;
        pageWidth: number;
        pageHeight: number;
      }>;
    }
  >;
};

let t: TestEmulator;
let sample: SampleInvoice;
let png: Uint8Array;
beforeAll(async () => {
  t = await startTestEmulator();
  sample = await sampleInvoicePdf();
  png = await sampleInvoicePng();
});
afterAll(() => t?.close());

async function extract(on: TestEmulator, name: string, bytes: Uint8Array): Promise<Extraction> {
  const file = await on.upload(name, bytes);
  const { data, error } = await on.client.POST("/processor_runs", {
    body: { processorId: "dp_invoice_extractor", file: { fileId: file.id }, sync: true },
  });
  expect(error).toBeUndefined();
  expect(data?.processorRun.status, name).toBe("PROCESSED");
  return data?.processorRun.output as unknown as Extraction;
}

/** Traineddata files in a folder, as tesseract's default cache would leave them. */
const traineddata = (folder: string) =>
  existsSync(folder) ? readdirSync(folder).filter((f) => f.includes("traineddata")) : [];

describe("the sample invoice as an image or a scan", () => {
  let fromPdf: Extraction;
  beforeAll(async () => {
    fromPdf = await extract(t, "invoice.pdf", sample.bytes);
  });

  test.each([
    ["invoice.png", () => Promise.resolve(png)],
    ["invoice.jpg", sampleInvoiceJpeg],
    ["scanned-invoice.pdf", scannedSampleInvoicePdf],
  ])("%s extracts the same values as the PDF", async (name, bytes) => {
    const got = await extract(t, name, await bytes());
    // Every value, line items, subtotal and tax included, is the PDF's.
    expect(got.value).toEqual(fromPdf.value);
    for (const [field, expected] of Object.entries(sample.values)) {
      expect(got.value[field], field).toEqual(fromPdf.value[field]);
      expect(got.value[field], field).toEqual(expected);
    }
    // Citations point at the same lines, within a few points of where the PDF has them.
    for (const field of Object.keys(sample.values)) {
      const ours = got.metadata[field]?.citations?.[0];
      const theirs = fromPdf.metadata[field]?.citations?.[0];
      expect(ours, field).toBeDefined();
      expect(ours?.referenceText, field).toBe(theirs?.referenceText);
      expect(ours?.pageWidth).toBe(612);
      expect(ours?.pageHeight).toBe(792);
      ours?.polygon.forEach((point, i) => {
        expect(Math.abs(point.x - (theirs?.polygon[i]?.x ?? Number.NaN)), field).toBeLessThan(4);
        expect(Math.abs(point.y - (theirs?.polygon[i]?.y ?? Number.NaN)), field).toBeLessThan(4);
      });
    }
  });

  test("a parse of the PNG has the invoice's text, on a letter-size page, with its table", async () => {
    const file = await t.upload("invoice.png", png);
    const { data, error, response } = await t.client.POST("/parse", {
      body: { file: { fileId: file.id } },
    });
    expect(error).toBeUndefined();
    expect(response.headers.get("x-extendkit-warning")).toBeNull();
    expect(data?.metrics.pageCount).toBe(1);
    const content = data?.chunks.map((c) => c.content).join("\n") ?? "";
    for (const text of [
      "Northwind Office Supply",
      "INVOICE",
      "Invoice Number: NW-2025-0412",
      "Bill To: Globex Corporation",
      "Total Due: $691.44",
    ])
      expect(content).toContain(text);
    const blocks = data?.chunks.flatMap((c) => c.blocks) ?? [];
    const table = blocks.find((b) => b.type === "table");
    expect(table?.content).toMatch(/Description\s*\|\s*Qty\s*\|\s*Unit price\s*\|\s*Amount/);
    expect(table?.content).toMatch(
      /Laser printer paper \(box\)\s*\|\s*12\s*\|\s*\$24\.50\s*\|\s*\$294\.00/,
    );
    expect(table?.content).toMatch(/Desk organizer\s*\|\s*5\s*\|\s*\$15\.25\s*\|\s*\$76\.25/);
    for (const block of blocks) {
      expect(block.metadata.page).toEqual({ number: 1, width: 612, height: 792 });
      const { left = -1, top = -1, right = -1, bottom = -1 } = block.boundingBox;
      expect(0 <= left && left < right && right <= 612, block.content).toBe(true);
      expect(0 <= top && top < bottom && bottom <= 792, block.content).toBe(true);
    }
    const heading = blocks.find((b) => b.content.includes("Northwind Office Supply"));
    expect(heading?.boundingBox.left).toBeCloseTo(56, -1);
    expect(heading?.boundingBox.top).toBeCloseTo(34, -1);

    const contents = await t.request("GET", `/files/${file.id}?rawText=true`);
    expect(contents.body.file.contents.pages[0]).toMatchObject({ pageWidth: 612, pageHeight: 792 });
    expect(contents.body.file.contents.rawText).toContain(
      "Laser printer paper (box)   12   $24.50   $294.00",
    );
  });

  test("an image with other text reads line by line", async () => {
    const file = await t.upload("letter.png", await letterPng());
    const contents = await t.request("GET", `/files/${file.id}?rawText=true`);
    expect(contents.headers.get("x-extendkit-warning")).toBeNull();
    expect(contents.body.file.contents.rawText.split("\n")).toEqual(LETTER_LINES);
  });
});

describe("a user's ocr function", () => {
  test("is used instead of the built-in OCR, for images and for scanned pages", async () => {
    const seen: Array<{ bytes: Uint8Array; name: string }> = [];
    const ocr = vi.fn((image: Uint8Array, file: { name: string }) => {
      seen.push({ bytes: image, name: file.name });
      return "Invoice Number: USER-1\nTotal Due: $5.00";
    });
    const workers = liveOcrWorkers();
    const u = await startTestEmulator({ ocr });
    try {
      const image = await extract(u, "invoice.png", png);
      expect(image.value).toMatchObject({ invoice_number: "USER-1" });
      const scan = await extract(u, "scan.pdf", await scannedSampleInvoicePdf());
      expect(scan.value).toMatchObject({ invoice_number: "USER-1" });
      expect(ocr).toHaveBeenCalledTimes(2);
      // The image as uploaded (a Buffer on the way: compare the bytes).
      expect(new Uint8Array(seen[0]?.bytes ?? [])).toEqual(png);
      expect(seen[0]?.name).toBe("invoice.png");
      // The scanned page is handed over rendered, as a PNG.
      expect([...(seen[1]?.bytes.subarray(0, 4) ?? [])]).toEqual([0x89, 0x50, 0x4e, 0x47]);
      expect(seen[1]?.name).toBe("scan.pdf");
      expect(liveOcrWorkers()).toBe(workers);
    } finally {
      await u.close();
    }
  });
});

describe("the built-in OCR", () => {
  test("reads its language data from the installed package, with no cache", () => {
    const options = workerOptions(defaultOcrLoader);
    const data = path.dirname(
      createRequire(import.meta.url).resolve("@tesseract.js-data/eng/package.json"),
    );
    expect(options).toEqual({
      langPath: path.join(data, "4.0.0_best_int"),
      gzip: true,
      cacheMethod: "none",
    });
    expect(path.isAbsolute(options.langPath)).toBe(true);
    expect(existsSync(path.join(options.langPath, "eng.traineddata.gz"))).toBe(true);
  });

  test("downloads nothing and writes no traineddata cache", async () => {
    const folders = [process.cwd(), tmpdir(), fileURLToPath(new URL("..", import.meta.url))];
    const before = folders.map(traineddata);
    // A fresh emulator, so its worker starts under the throwing fetch: this process's fetch
    // is never called. (The stub cannot reach tesseract's worker thread; the no-network
    // process test below covers that.) The harness's client kept the real fetch.
    const u = await startTestEmulator();
    const fetched: string[] = [];
    vi.stubGlobal("fetch", (input: unknown) => {
      fetched.push(String(input));
      throw new Error("OCR must not use the network");
    });
    try {
      const file = await u.upload("invoice.png", png);
      const contents = await u.request("GET", `/files/${file.id}?rawText=true`);
      expect(contents.body.file.contents.rawText).toContain("Invoice Number: NW-2025-0412");
    } finally {
      vi.unstubAllGlobals();
      await u.close();
    }
    expect(fetched).toEqual([]);
    expect(folders.map(traineddata)).toEqual(before);
  });

  test("without tesseract.js or its data, reads an image as empty text with a warning", async () => {
    const require = createRequire(import.meta.url);
    const loaders = [
      {
        tesseract: async () => require("tesseract.js-not-installed"),
        languageFolder: defaultOcrLoader.languageFolder,
      },
      {
        tesseract: defaultOcrLoader.tesseract,
        languageFolder: () => require.resolve("@tesseract.js-data/not-installed/package.json"),
      },
    ];
    for (const loader of loaders) {
      const engine = createOcrEngine(loader);
      try {
        const image = await readLayout("IMG", png, { engine, name: "invoice.png" });
        expect(image.pages).toEqual([{ number: 1, width: 612, height: 792, lines: [] }]);
        expect(image.warnings).toHaveLength(1);
        expect(image.warnings[0]).toContain(OCR_INSTALL);
        expect(image.warnings[0]).toContain("`ocr` function");
        expect(image.warnings[0]).toMatch(/^The image was not read: .* Its text is empty\.$/);
        const scan = await readLayout("PDF", await scannedSampleInvoicePdf(), { engine });
        expect(scan.pages[0]?.lines).toEqual([]);
        expect(scan.warnings).toEqual([
          expect.stringMatching(/^Page 1 of the PDF has no text layer and was not read: /),
        ]);
        expect(scan.warnings[0]).toContain(OCR_INSTALL);
      } finally {
        await engine.close();
      }
    }
  });

  test("reads nothing from an image format it does not decode, without starting", async () => {
    const engine = createOcrEngine();
    const svg = new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>");
    const layout = await readLayout("IMG", svg, { engine });
    expect(layout.pages[0]?.lines).toEqual([]);
    expect(layout.warnings[0]).toMatch(/OCR reads PNG, JPEG/);
    await engine.close();
  });

  test("ends its worker when the emulator closes", async () => {
    const u = await startTestEmulator();
    const before = liveOcrWorkers();
    const file = await u.upload("invoice.png", png);
    await u.request("GET", `/files/${file.id}?rawText=true`);
    expect(liveOcrWorkers()).toBe(before + 1);
    await u.close();
    expect(liveOcrWorkers()).toBe(before);
    // Closing twice, or closing an engine that never started, is harmless.
    await u.close();
    await createOcrEngine().close();
  });

  test("a worker thread that dies fails the read it was doing, and the next read starts a new one", async () => {
    const engine = createOcrEngine();
    try {
      expect((await engine.read(png)).ok).toBe(true);
      const [thread] = liveOcrThreads().slice(-1);
      const reading = engine.read(png);
      // Killed from outside, as the system kills a thread that runs out of memory.
      await thread!.terminate();
      const failed = await reading;
      expect(failed).toMatchObject({ ok: false });
      expect(failed.ok ? "" : failed.reason).toMatch(/the OCR worker stopped \(exit code 1\)/);
      const again = await engine.read(png);
      expect(again.ok).toBe(true);
      expect(again.ok && again.runs.map((r) => r.text).join(" ")).toContain("NW-2025-0412");
    } finally {
      await engine.close();
    }
  });

  test("a JPEG with a video after its end (a phone's motion photo) is read", async () => {
    const jpeg = await sampleInvoiceJpeg();
    const motion = new Uint8Array([...jpeg, ...new TextEncoder().encode("ftypmp42".repeat(64))]);
    const engine = createOcrEngine();
    try {
      const result = await engine.read(motion);
      expect(result.ok && result.runs.map((r) => r.text).join(" ")).toContain("NW-2025-0412");
    } finally {
      await engine.close();
    }
  });

  test("an image of more than 50 megapixels is not read, and says how to make it readable", async () => {
    // A PNG whose header says 30,000 × 30,000 pixels (and which ends as a PNG should).
    const header = new Uint8Array([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0,
      0x75, 0x30, 0, 0, 0x75, 0x30, 8, 2, 0, 0, 0, 0, 0, 0, 0,
    ]);
    const end = new Uint8Array([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
    const huge = new Uint8Array([...header, ...end]);
    const engine = createOcrEngine();
    const threads = liveOcrThreads().length;
    try {
      const result = await engine.read(huge);
      expect(result.ok ? "" : result.reason).toBe(
        "the image is 30000×30000 pixels, more than the 50 megapixels OCR reads; scale it down (300 dpi is plenty)",
      );
      // Nothing was started for it.
      expect(liveOcrThreads()).toHaveLength(threads);
    } finally {
      await engine.close();
    }
  });

  test("answers a read after close with a reason instead of starting again", async () => {
    const engine = createOcrEngine();
    await engine.close();
    const workers = liveOcrWorkers();
    expect(await engine.read(png)).toEqual({ ok: false, reason: "the emulator is closing" });
    expect(liveOcrWorkers()).toBe(workers);
  });
});

/** Whether this machine can start a process with no network at all (a Linux user and network namespace). */
const unshare = spawnSync("unshare", ["-rn", "sh", "-c", "ip link set lo up"]).status === 0;
if (!unshare)
  console.warn(
    "ocr.test.ts: the no-network process test is skipped: `unshare -rn` with `ip` is unavailable here (CI runs it)",
  );

describe.skipIf(!unshare)("in a process with no network", () => {
  test("the built emulator reads the PNG: OCR's data and core come from disk", async () => {
    // tesseract.js runs in a worker thread whose fetch no stub in this process reaches, so
    // the proof is a process in a network namespace of its own: only loopback, brought up
    // for the emulator's HTTP; any download would fail and leave the page empty.
    const folder = mkdtempSync(path.join(tmpdir(), "extendkit-ocr-"));
    try {
      writeFileSync(path.join(folder, "invoice.png"), png);
      const dist = new URL("../dist/index.js", import.meta.url).href;
      const script = `
        const { readFileSync } = await import("node:fs");
        const { startEmulator } = await import(${JSON.stringify(dist)});
        const emulator = await startEmulator({ port: 0, db: ":memory:", pageLatencyMs: 0 });
        try {
          const headers = { authorization: "Bearer " + emulator.token, "x-extend-api-version": "2025-04-21" };
          const form = new FormData();
          form.append("file", new Blob([readFileSync("invoice.png")]), "invoice.png");
          const upload = await (await fetch(emulator.url + "/files/upload", { method: "POST", headers, body: form })).json();
          const parsed = await fetch(emulator.url + "/parse", {
            method: "POST",
            headers: { ...headers, "content-type": "application/json" },
            body: JSON.stringify({ file: { fileId: upload.file.id } }),
          });
          console.log(JSON.stringify({ warning: parsed.headers.get("x-extendkit-warning"), body: await parsed.json() }));
        } finally {
          await emulator.close();
        }`;
      const child = spawnSync(
        "unshare",
        ["-rn", "sh", "-c", 'ip link set lo up && exec node --input-type=module -e "$0"', script],
        { cwd: folder, encoding: "utf8", timeout: 60_000 },
      );
      expect(child.status, child.stderr).toBe(0);
      const { warning, body } = JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "{}");
      expect(warning).toBeNull();
      const text = body.chunks.map((c: { content: string }) => c.content).join("\n");
      expect(text).toContain("Invoice Number: NW-2025-0412");
      expect(text).toContain("Total Due: $691.44");
      // And nothing was cached beside it.
      expect(traineddata(folder)).toEqual([]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
