import { PDFDocument, PDFHexString, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

/** A PDF with a standard security handler whose user password is not empty: readers must ask for it. */
async function encryptedPdf() {
  const pdf = await PDFDocument.create();
  pdf
    .addPage()
    .drawText("secret", { x: 50, y: 700, font: await pdf.embedFont(StandardFonts.Helvetica) });
  const ctx = pdf.context;
  ctx.trailerInfo.Encrypt = ctx.register(
    ctx.obj({
      Filter: "Standard",
      V: 1,
      R: 2,
      O: PDFHexString.of("00".repeat(32)),
      U: PDFHexString.of("11".repeat(32)),
      P: -44,
    }),
  );
  ctx.trailerInfo.ID = ctx.obj([
    PDFHexString.of("ab".repeat(16)),
    PDFHexString.of("ab".repeat(16)),
  ]);
  return pdf.save({ useObjectStreams: false });
}

/** The eight-byte PNG signature and a few bytes: enough to be typed an image. */
const PNG = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
]);

const upload = (on: TestEmulator, name: string, bytes: Uint8Array, type: string) =>
  on.upload(name, bytes, type);

describe("a password-protected PDF", () => {
  let t: TestEmulator;
  let fileId: string;
  beforeAll(async () => {
    t = await startTestEmulator();
    fileId = (await upload(t, "locked.pdf", await encryptedPdf(), "application/pdf")).id;
  });
  afterAll(() => t.close());

  test("parse answers 422 PASSWORD_PROTECTED_FILE, not retryable", async () => {
    const { status, body } = await t.request("POST", "/parse", { body: { file: { fileId } } });
    expect(status).toBe(422);
    expect(body).toMatchObject({ code: "PASSWORD_PROTECTED_FILE", retryable: false });
    expect(body.message).toMatch(/password/i);
  });

  test("edit answers 422 PASSWORD_PROTECTED_FILE", async () => {
    const { status, body } = await t.request("POST", "/edit", { body: { file: { fileId } } });
    expect(status).toBe(422);
    expect(body.code).toBe("PASSWORD_PROTECTED_FILE");
  });

  test("a workflow run on it ends FAILED with that reason", async () => {
    const { data } = await t.client.POST("/workflow_runs", {
      body: { workflowId: "workflow_invoices", files: [{ fileId }] },
    });
    await t.emulator.idle();
    const { data: got } = await t.client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: data!.workflowRuns[0]!.id } },
    });
    expect(got?.workflowRun.status).toBe("FAILED");
    expect(got?.workflowRun.failureReason).toBe("PASSWORD_PROTECTED_FILE");
  });
});

describe("an image", () => {
  test("that is cut short is accepted and parses to empty text, with a warning that says so", async () => {
    const t = await startTestEmulator();
    try {
      const file = await upload(t, "scan.png", PNG, "image/png");
      expect(file.type).toBe("IMG");
      const { status, body, headers } = await t.request("POST", "/parse", {
        body: { file: { fileId: file.id } },
      });
      expect(status).toBe(200);
      expect(body.chunks.map((c: { content: string }) => c.content)).toEqual([""]);
      expect(headers.get("x-extendkit-warning")).toMatch(
        /The image was not read: the image is incomplete or damaged/,
      );
      const contents = await t.request("GET", `/files/${file.id}?rawText=true`);
      expect(contents.body.file.contents.rawText).toBe("");
      expect(contents.headers.get("x-extendkit-warning")).toMatch(/The image was not read/);
    } finally {
      await t.close();
    }
  });

  test("is read by the configured OCR function, with no warning", async () => {
    const seen: Array<{ bytes: number; name: string }> = [];
    const t = await startTestEmulator({
      ocr: (image, file) => {
        seen.push({ bytes: image.length, name: file.name });
        return "Invoice Number: OCR-7\nTotal Due: $12.50";
      },
    });
    try {
      const file = await upload(t, "scan.png", PNG, "image/png");
      const { body, headers } = await t.request("POST", "/parse", {
        body: { file: { fileId: file.id } },
      });
      expect(body.chunks[0].content).toContain("Invoice Number: OCR-7");
      expect(headers.get("x-extendkit-warning")).toBeNull();
      expect(seen).toEqual([{ bytes: PNG.length, name: "scan.png" }]);
      const run = await t.client.POST("/processor_runs", {
        body: { processorId: "dp_invoice_extractor", file: { fileId: file.id }, sync: true },
      });
      expect(run.data?.processorRun.output).toMatchObject({
        value: { invoice_number: "OCR-7", total: { amount: 12.5, iso_4217_currency_code: "USD" } },
      });
    } finally {
      await t.close();
    }
  });
});

describe("a very long spreadsheet", () => {
  test("a CSV of 150,000 rows reads whole (spreading its rows into Math.max overflowed the stack)", async () => {
    const t = await startTestEmulator();
    try {
      const rows = ["id,amount", ...Array.from({ length: 150_000 }, (_, i) => `${i},${i % 97}.50`)];
      const file = await t.upload("long.csv", rows.join("\n"), "text/csv");
      const { status, body } = await t.request("GET", `/files/${file.id}?rawText=true`);
      expect(status).toBe(200);
      expect(body.file.contents.rawText).toMatch(/\n149999 {3}37\.50$/);
    } finally {
      await t.close();
    }
  });
});
