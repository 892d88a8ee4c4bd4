/**
 * Word, Excel and PowerPoint documents: the sample invoice written in each program extracts to
 * the same values as its PDF, parses into headings, paragraphs and tables, classifies, and a
 * damaged or legacy file fails with a clear error, never a 500.
 */
import type { Schemas } from "@extendkit/core";
import { Document, Packer, PageBreak, Paragraph } from "docx";
import ExcelJS from "exceljs";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sampleInvoicePdf } from "../src/sample.js";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";
import {
  CONTRACT,
  contractDocx,
  INVOICE,
  invoiceDocx,
  invoicePptx,
  invoiceXlsx,
  SALES,
  STATUS,
  salesXlsx,
  statusPptx,
} from "./helpers/office-documents.js";

const MEDIA = {
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
};

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

async function runProcessor(processorId: string, fileId: string) {
  const { data, error } = await t.client.POST("/processor_runs", {
    body: { processorId, file: { fileId }, sync: true },
  });
  expect(error).toBeUndefined();
  const run = data!.processorRun;
  expect(run.status, JSON.stringify(run.failureMessage ?? "")).toBe("PROCESSED");
  return run;
}

async function extracted(fileId: string) {
  const run = await runProcessor("dp_invoice_extractor", fileId);
  return (run.output as Schemas["JsonOutput"]).value as Record<string, unknown>;
}

async function parse(fileId: string) {
  const { data, error, response } = await t.client.POST("/parse", {
    body: { file: { fileId } },
  });
  expect(error).toBeUndefined();
  expect(response.status).toBe(200);
  return data!;
}

const blocksOf = (run: Awaited<ReturnType<typeof parse>>) =>
  run.chunks.flatMap((c) => c.blocks.map((b) => [b.type, b.content] as const));

describe("the sample invoice written in Word, Excel and PowerPoint", () => {
  let pdfValues: Record<string, unknown>;
  beforeAll(async () => {
    const sample = await sampleInvoicePdf();
    const pdf = await t.upload("sample-invoice.pdf", sample.bytes, "application/pdf");
    pdfValues = await extracted(pdf.id);
    expect(pdfValues).toMatchObject(sample.values);
  });

  test.each([
    ["invoice.docx", invoiceDocx, MEDIA.docx, "DOCX"],
    ["invoice.xlsx", invoiceXlsx, MEDIA.xlsx, "EXCEL"],
    ["invoice.pptx", invoicePptx, MEDIA.pptx, "DOCX"],
  ] as const)(
    "%s extracts to exactly the values its PDF extracts to",
    async (name, write, media, type) => {
      const file = await t.upload(name, await write(), media);
      expect(file.type).toBe(type);
      const values = await extracted(file.id);
      expect(Object.keys(values).sort()).toEqual(Object.keys(pdfValues).sort());
      for (const [field, value] of Object.entries(pdfValues))
        expect(values[field], `${name}: ${field}`).toEqual(value);
      expect(values).toMatchObject((await sampleInvoicePdf()).values);
    },
  );

  test("an .xlsx saved with an .xls name is read by its contents", async () => {
    const file = await t.upload("invoice.xls", await invoiceXlsx(), "application/vnd.ms-excel");
    expect(file.type).toBe("EXCEL");
    expect(await extracted(file.id)).toEqual(pdfValues);
  });

  test.each([
    ["invoice.docx", invoiceDocx, MEDIA.docx],
    ["invoice.xlsx", invoiceXlsx, MEDIA.xlsx],
    ["invoice.pptx", invoicePptx, MEDIA.pptx],
  ] as const)("%s classifies as an invoice", async (name, write, media) => {
    const file = await t.upload(name, await write(), media);
    const run = await runProcessor("dp_document_classifier", file.id);
    expect(run.output).toMatchObject({ id: "invoice", type: "invoice" });
  });
});

describe("parsing Word documents", () => {
  test("the invoice: Title and Heading 1 paragraphs are headings, the items a table", async () => {
    const file = await t.upload("invoice.docx", await invoiceDocx(), MEDIA.docx);
    const run = await parse(file.id);
    expect(run.metrics.pageCount).toBe(1);
    const blocks = blocksOf(run);
    expect(blocks.filter(([type]) => type === "heading").map(([, c]) => c)).toEqual([
      INVOICE.letterhead,
      INVOICE.title,
    ]);
    const table = blocks.find(([type]) => type === "table")?.[1];
    expect(table?.split("\n")).toEqual([
      "| Description | Qty | Unit price | Amount |",
      "| --- | --- | --- | --- |",
      "| Laser printer paper (box) | 12 | $24.50 | $294.00 |",
      "| Toner cartridge, black | 3 | $89.99 | $269.97 |",
      "| Desk organizer | 5 | $15.25 | $76.25 |",
    ]);
    const markdown = run.chunks[0]!.content;
    expect(markdown).toMatch(
      /^## Northwind Office Supply\n\n## INVOICE\n\nInvoice Number: NW-2025-0412\n/,
    );
    expect(markdown).toContain("Bill To: Globex Corporation");
    expect(markdown).toContain("Total Due: $691.44");
  });

  test("a contract: its headings start sections and its fee table ends before the next heading", async () => {
    const file = await t.upload("contract.docx", await contractDocx(), MEDIA.docx);
    const { data } = await t.client.POST("/parse", {
      body: { file: { fileId: file.id }, config: { chunkingStrategy: { type: "section" } } },
    });
    const sections = data!.chunks.map((c) => c.content);
    expect(sections.map((s) => s.split("\n")[0])).toEqual([
      `## ${CONTRACT.title}`,
      `## ${CONTRACT.headings[0]}`,
      `## ${CONTRACT.headings[1]}`,
    ]);
    expect(sections[0]).toContain(CONTRACT.parties);
    expect(sections[1]).toContain(
      [
        "| Service | Rate | Unit | Billing |",
        "| --- | --- | --- | --- |",
        "| Strategy workshop | $1,200.00 | day | monthly |",
        "| Implementation support | $150.00 | hour | monthly |",
      ].join("\n"),
    );
    expect(sections[2]).toContain(CONTRACT.term);
    expect(sections[2]).not.toContain("|");
  });

  test("a contract classifies as a contract", async () => {
    const file = await t.upload("msa.docx", await contractDocx(), MEDIA.docx);
    const run = await runProcessor("dp_document_classifier", file.id);
    expect(run.output).toMatchObject({ id: "contract", type: "contract" });
  });

  test("GET /files/{id} gives its markdown and raw text, and its page count", async () => {
    const file = await t.upload("contents.docx", await contractDocx(), MEDIA.docx);
    const { status, body } = await t.request("GET", `/files/${file.id}?markdown=true&rawText=true`);
    expect(status).toBe(200);
    expect(body.file.contents.markdown).toContain(`## ${CONTRACT.headings[1]}`);
    expect(body.file.contents.rawText).toContain(`# ${CONTRACT.title}`);
    expect(body.file.metadata.pageCount).toBe(1);
  });

  test("a page break starts a new page", async () => {
    const doc = new Document({
      sections: [
        {
          children: [
            new Paragraph("Cover letter for the attached report."),
            new Paragraph({ children: [new PageBreak()] }),
            new Paragraph("Appendix: the figures."),
          ],
        },
      ],
    });
    const bytes = new Uint8Array(await Packer.toBuffer(doc));
    const file = await t.upload("two-pages.docx", bytes, MEDIA.docx);
    const run = await parse(file.id);
    expect(run.chunks.map((c) => c.content)).toEqual([
      "Cover letter for the attached report.",
      "Appendix: the figures.",
    ]);
  });
});

describe("parsing Excel workbooks", () => {
  test("each sheet is a page whose rows are one table, cells as Excel shows them", async () => {
    const file = await t.upload("sales.xlsx", await salesXlsx(), MEDIA.xlsx);
    const run = await parse(file.id);
    expect(run.chunks.map((c) => c.content)).toEqual([
      [
        "| Region | January | February | March | Total |",
        "| --- | --- | --- | --- | --- |",
        "| North | 12,500.00 | 13,250.50 | 14,100.00 | 39,850.50 |",
        "| South | 9,800.00 | 10,150.00 | 9,975.25 | 29,925.25 |",
        "| West | 15,200.00 | 14,875.00 | 16,020.00 | 46,095.00 |",
      ].join("\n"),
      [
        "| Region | Target | Share |",
        "| --- | --- | --- |",
        "| North | 40,000 | 35% |",
        "| South | 30,000 | 25% |",
      ].join("\n"),
    ]);
    expect(run.chunks.map((c) => c.blocks.map((b) => b.type))).toEqual([["table"], ["table"]]);
    expect(SALES.sheets).toHaveLength(run.chunks.length);
  });

  test("a cell its format cannot show (a date serial of 1e300) is one odd cell, not a damaged workbook", async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet("Odd");
    sheet.addRow(["Invoice no", "A-1"]);
    sheet.addRow(["Issued", 1e300]).getCell(2).numFmt = "dd mmm yyyy";
    sheet.addRow(["Huge", 1e300]).getCell(2).numFmt = "0.00";
    const bytes = new Uint8Array(await workbook.xlsx.writeBuffer());
    const file = await t.upload("odd.xlsx", bytes, MEDIA.xlsx);
    const run = await parse(file.id);
    const text = run.chunks.map((c) => c.content).join("\n");
    expect(text).toContain("| Invoice no | A-1 |");
    expect(text).toContain("| Issued | ##### |");
    expect(text).toContain("| Huge | 1e+300 |");
  });

  test("excelSheetSelectionStrategy and excelSheetRanges choose the sheets extraction reads", async () => {
    const file = await t.upload("sales.xlsx", await salesXlsx(), MEDIA.xlsx);
    const targets = {
      type: "array",
      description: "Sales targets by region",
      items: {
        type: "object",
        properties: {
          region: { type: ["string", "null"] },
          target: { type: ["number", "null"] },
          share: { type: ["string", "null"] },
        },
      },
    };
    const extract = async (advancedOptions: Record<string, unknown>) => {
      const { data, error } = await t.client.POST("/processors", {
        body: {
          name: "Targets",
          type: "EXTRACT",
          config: {
            type: "EXTRACT",
            schema: { type: "object", properties: { targets }, required: ["targets"] },
            advancedOptions,
          } as never,
        },
      });
      expect(error).toBeUndefined();
      const run = await runProcessor(data!.processor.id, file.id);
      return (run.output as unknown as { value: { targets: unknown[] } }).value.targets;
    };
    const second = [
      { region: "North", target: 40000, share: "35%" },
      { region: "South", target: 30000, share: "25%" },
    ];
    expect(await extract({})).toEqual(second);
    expect(await extract({ excelSheetSelectionStrategy: "all" })).toEqual(second);
    // The targets sit on the second sheet: the first alone has none.
    expect(await extract({ excelSheetSelectionStrategy: "first" })).toEqual([]);
    expect(await extract({ excelSheetSelectionStrategy: "last" })).toEqual(second);
    expect(await extract({ excelSheetRanges: [{ start: 0, end: 0 }] })).toEqual([]);
    expect(await extract({ excelSheetRanges: [{ start: 1, end: 1 }] })).toEqual(second);
  });

  test("an invoice sheet: the large title is a heading, label and value cells a line, the items a table", async () => {
    const file = await t.upload("invoice.xlsx", await invoiceXlsx(), MEDIA.xlsx);
    const run = await parse(file.id);
    const blocks = blocksOf(run);
    expect(blocks.filter(([type]) => type === "heading").map(([, c]) => c)).toEqual([
      INVOICE.letterhead,
      INVOICE.title,
    ]);
    const markdown = run.chunks[0]!.content;
    // Dates are real dates formatted yyyy-mm-dd; amounts are formulas in a currency format.
    expect(markdown).toContain("Invoice Date:   2025-04-12");
    expect(markdown).toContain("| Laser printer paper (box) | 12 | $24.50 | $294.00 |");
    expect(markdown).toContain("|  |  | Total Due: | $691.44 |");
  });
});

describe("parsing PowerPoint presentations", () => {
  test("each slide is a page, its title a heading and its table a table", async () => {
    const file = await t.upload("status.pptx", await statusPptx(), MEDIA.pptx);
    expect(file.type).toBe("DOCX");
    const run = await parse(file.id);
    expect(run.metrics.pageCount).toBe(2);
    expect(run.chunks.map((c) => c.content)).toEqual([
      [`## ${STATUS.titles[0]}`, STATUS.bullets.map((b) => `• ${b}`).join("\n")].join("\n\n"),
      [
        `## ${STATUS.titles[1]}`,
        [
          "| Milestone | Owner | Due | Status |",
          "| --- | --- | --- | --- |",
          "| Hardware installed | Priya Shah | 2025-06-30 | At risk |",
          "| Data migrated | Tom Berg | 2025-08-15 | Planned |",
        ].join("\n"),
      ].join("\n\n"),
    ]);
    // A 16:9 slide is 720 by 405 points.
    expect(run.chunks[0]!.blocks[0]!.metadata.page).toEqual({ number: 1, width: 720, height: 405 });
  });

  test("slides come in the order the deck shows them, not the order of their part names", async () => {
    const { unzipSync, zipSync, strToU8, strFromU8 } = await import("fflate");
    const parts = unzipSync(await statusPptx());
    // Moving the second slide first, as PowerPoint does, reorders the slide list only.
    const presentation = strFromU8(parts["ppt/presentation.xml"]!);
    const ids = [...presentation.matchAll(/<p:sldId\b[^>]*\/>/g)].map((m) => m[0]);
    expect(ids).toHaveLength(2);
    parts["ppt/presentation.xml"] = strToU8(
      presentation.replace(ids.join(""), [ids[1], ids[0]].join("")),
    );
    const file = await t.upload("reordered.pptx", zipSync(parts), MEDIA.pptx);
    const run = await parse(file.id);
    expect(run.chunks.map((c) => c.content.split("\n")[0])).toEqual([
      `## ${STATUS.titles[1]}`,
      `## ${STATUS.titles[0]}`,
    ]);
  });

  test("the invoice slide reads top to bottom: title, fields, items, totals", async () => {
    const file = await t.upload("invoice.pptx", await invoicePptx(), MEDIA.pptx);
    const run = await parse(file.id);
    const blocks = blocksOf(run);
    expect(blocks[0]).toEqual(["heading", INVOICE.letterhead]);
    expect(blocks.map(([type]) => type)).toContain("table");
    expect(run.chunks[0]!.content).toMatch(
      /Bill To: Globex Corporation[\s\S]*\| Desk organizer \| 5 \| \$15\.25 \| \$76\.25 \|[\s\S]*Total Due: \$691\.44$/,
    );
  });
});

describe("documents that cannot be read", () => {
  /** A legacy binary Office file: the OLE compound file signature and some sectors of nothing. */
  const ole = () => {
    const bytes = new Uint8Array(2048);
    bytes.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    return bytes;
  };

  test("a truncated .docx answers 422 CORRUPT_FILE, not retryable, saying what to check", async () => {
    const whole = await invoiceDocx();
    const file = await t.upload("truncated.docx", whole.slice(0, whole.length / 2), MEDIA.docx);
    expect(file.type).toBe("DOCX");
    const { status, body, headers } = await t.request("POST", "/parse", {
      body: { file: { fileId: file.id } },
    });
    expect(status).toBe(422);
    expect(body).toMatchObject({
      code: "CORRUPT_FILE",
      requestId: headers.get("x-request-id"),
      retryable: false,
    });
    expect(body.message).toMatch(/complete and not damaged/);
  });

  test("a zip bomb (a small .docx declaring 2 GB of XML) answers 400 FILE_SIZE_TOO_LARGE before anything is inflated", async () => {
    const { zipSync, strToU8 } = await import("fflate");
    const zip = zipSync({
      "[Content_Types].xml": strToU8("<Types/>"),
      "word/document.xml": strToU8("<w:document/>"),
    });
    // Patch the central directory: word/document.xml now declares 2 GB uncompressed.
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    const decoder = new TextDecoder();
    let patched = false;
    for (let at = 0; at + 46 < zip.length; at++) {
      if (view.getUint32(at, true) !== 0x02014b50) continue;
      const nameLength = view.getUint16(at + 28, true);
      if (decoder.decode(zip.subarray(at + 46, at + 46 + nameLength)) !== "word/document.xml")
        continue;
      view.setUint32(at + 24, 0x7fffffff, true);
      patched = true;
    }
    expect(patched).toBe(true);
    const file = await t.upload("bomb.docx", zip, MEDIA.docx);
    const { status, body } = await t.request("POST", "/parse", {
      body: { file: { fileId: file.id } },
    });
    expect(status).toBe(400);
    expect(body.code).toBe("FILE_SIZE_TOO_LARGE");
    expect(body.message).toMatch(
      /declares 2048 MB uncompressed, more than the 128 MB the emulator reads uncompressed/,
    );
  });

  test("a zip bomb that declares small sizes but inflates past 128 MB answers FILE_SIZE_TOO_LARGE too", async () => {
    const { zipSync, strToU8 } = await import("fflate");
    // 200 MB of one repeated byte deflates to about 200 KB.
    const zip = zipSync(
      {
        "[Content_Types].xml": strToU8("<Types/>"),
        "xl/workbook.xml": strToU8("<workbook/>"),
        "xl/media/image1.png": new Uint8Array(200 * 1024 * 1024),
      },
      { level: 9 },
    );
    // The central directory and the local header now say the image is 1 KB.
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    const decoder = new TextDecoder();
    let patched = 0;
    for (let at = 0; at + 30 < zip.length; at++) {
      const signature = view.getUint32(at, true);
      const [sizeAt, nameLengthAt, nameAt] =
        signature === 0x02014b50 ? [24, 28, 46] : signature === 0x04034b50 ? [22, 26, 30] : [];
      if (sizeAt === undefined) continue;
      const nameLength = view.getUint16(at + (nameLengthAt as number), true);
      const name = decoder.decode(
        zip.subarray(at + (nameAt as number), at + (nameAt as number) + nameLength),
      );
      if (name !== "xl/media/image1.png") continue;
      view.setUint32(at + sizeAt, 1024, true);
      patched++;
    }
    expect(patched).toBe(2);
    expect(zip.length).toBeLessThan(1024 * 1024);
    const file = await t.upload("bomb.xlsx", zip, MEDIA.xlsx);
    const { status, body } = await t.request("POST", "/parse", {
      body: { file: { fileId: file.id } },
    });
    expect(status).toBe(400);
    expect(body.code).toBe("FILE_SIZE_TOO_LARGE");
    expect(body.message).toMatch(/inflates to more than the 128 MB/);
  });

  test("a truncated .xlsx ends an async parse FAILED with CORRUPT_FILE", async () => {
    const whole = await invoiceXlsx();
    const file = await t.upload("truncated.xlsx", whole.slice(0, 1000), MEDIA.xlsx);
    const { data } = await t.client.POST("/parse/async", { body: { file: { fileId: file.id } } });
    await t.emulator.idle();
    const { data: got } = await t.client.GET("/parser_runs/{id}", {
      params: { path: { id: data!.id } },
    });
    expect(got?.parserRun).toMatchObject({ status: "FAILED", failureReason: "CORRUPT_FILE" });
  });

  test("a damaged .pptx's contents are a 400 CORRUPT_FILE, as a corrupt PDF's are", async () => {
    const whole = await invoicePptx();
    const file = await t.upload("truncated.pptx", whole.slice(0, whole.length - 200), MEDIA.pptx);
    const { status, body } = await t.request("GET", `/files/${file.id}?rawText=true`);
    expect(status).toBe(400);
    expect(body.code).toBe("CORRUPT_FILE");
  });

  test.each([
    ["letter.doc", "application/msword", /save it as Word \(\.docx\) or as PDF/],
    ["ledger.xls", "application/vnd.ms-excel", /save it as Excel \(\.xlsx\) or as PDF/],
    ["deck.ppt", "application/vnd.ms-powerpoint", /save it as PowerPoint \(\.pptx\) or as PDF/],
  ])(
    "a legacy binary %s answers 400 FILE_TYPE_NOT_SUPPORTED, saying what to save it as",
    async (name, media, message) => {
      const file = await t.upload(name, ole(), media);
      const { status, body } = await t.request("POST", "/parse", {
        body: { file: { fileId: file.id } },
      });
      expect(status).toBe(400);
      expect(body).toMatchObject({ code: "FILE_TYPE_NOT_SUPPORTED", retryable: false });
      expect(body.message).toMatch(/legacy binary Office file/);
      expect(body.message).toMatch(message);
    },
  );

  test("an extraction run on a legacy .doc fails with FILE_TYPE_NOT_SUPPORTED, not a 500", async () => {
    const file = await t.upload("old.doc", ole(), "application/msword");
    const { response, data, error } = await t.client.POST("/processor_runs", {
      body: { processorId: "dp_invoice_extractor", file: { fileId: file.id }, sync: true },
    });
    expect(response.status).toBeLessThan(500);
    const failure = data?.processorRun.failureReason ?? (error as { code?: string })?.code;
    expect(failure).toBe("FILE_TYPE_NOT_SUPPORTED");
  });

  test("an OpenDocument text file answers FILE_TYPE_NOT_SUPPORTED, saying to save it as .docx", async () => {
    const odt = zipSync({
      mimetype: new TextEncoder().encode("application/vnd.oasis.opendocument.text"),
      "content.xml": new TextEncoder().encode("<office:document-content/>"),
    });
    const file = await t.upload("notes.odt", odt, "application/vnd.oasis.opendocument.text");
    expect(file.type).toBe("DOCX");
    const { status, body } = await t.request("POST", "/parse", {
      body: { file: { fileId: file.id } },
    });
    expect(status).toBe(400);
    expect(body.code).toBe("FILE_TYPE_NOT_SUPPORTED");
    expect(body.message).toMatch(/OpenDocument.*save it as Word \(\.docx\)/);
  });
});
