// Document processing end to end: known text and layout in, exact parse blocks, extracted
// values, classifications and splits out. Every document is generated here (pdf-lib for PDFs,
// strings for the text formats), so each expectation follows from where the text was drawn.
import type { Schemas } from "@extendkit/core";
import { PDFDocument, type PDFFont, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

const PAGE_WIDTH = 612;
const PAGE_HEIGHT = 792;

/** A run of text drawn on a page: `x` is its left edge, or its right edge when `align` is "right". */
interface Drawn {
  text: string;
  x: number;
  /** Baseline, in pdf-lib's coordinates (points up from the bottom of the page). */
  y: number;
  size?: number;
  align?: "left" | "right";
}

let measuringFont: PDFFont | undefined;
/** Helvetica, for measuring text the way the generated PDFs draw it. */
async function helvetica() {
  measuringFont ??= await (await PDFDocument.create()).embedFont(StandardFonts.Helvetica);
  return measuringFont;
}

/**
 * The width of `text` as drawn: pdf-lib's `widthOfTextAtSize` applies kerning, but `drawText`
 * does not, so the drawn width is the sum of the glyphs' own widths.
 */
function drawnWidth(font: PDFFont, text: string, size: number) {
  return [...text].reduce((width, ch) => width + font.widthOfTextAtSize(ch, size), 0);
}

/** A PDF of letter pages, each a list of texts drawn in Helvetica. */
async function pdfOf(pages: Drawn[][]): Promise<Uint8Array<ArrayBuffer>> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const texts of pages) {
    const page = pdf.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
    for (const d of texts) {
      const size = d.size ?? 11;
      const width = drawnWidth(font, d.text, size);
      page.drawText(d.text, { x: d.align === "right" ? d.x - width : d.x, y: d.y, size, font });
    }
  }
  return new Uint8Array(await pdf.save());
}

/**
 * Where a drawn text stands, in points from the page's top-left corner: from the top of its
 * em box (baseline minus font size) down to its baseline.
 */
async function extent(...texts: Drawn[]) {
  const font = await helvetica();
  const boxes = texts.map((d) => {
    const size = d.size ?? 11;
    const width = drawnWidth(font, d.text, size);
    const left = d.align === "right" ? d.x - width : d.x;
    return { left, right: left + width, top: PAGE_HEIGHT - d.y - size, bottom: PAGE_HEIGHT - d.y };
  });
  return {
    left: Math.min(...boxes.map((b) => b.left)),
    right: Math.max(...boxes.map((b) => b.right)),
    top: Math.min(...boxes.map((b) => b.top)),
    bottom: Math.max(...boxes.map((b) => b.bottom)),
  };
}

/** Expects a block's box to be within a point of `expected` on every side, and its polygon to trace it. */
function expectBox(block: Schemas["Block"], expected: Awaited<ReturnType<typeof extent>>) {
  const box = block.boundingBox;
  for (const side of ["left", "right", "top", "bottom"] as const) {
    expect(
      Math.abs((box[side] as number) - expected[side]),
      `${side} of "${block.content.slice(0, 30)}": ${box[side]} vs ${expected[side]}`,
    ).toBeLessThanOrEqual(1);
  }
  expect(block.polygon).toEqual([
    { x: box.left, y: box.top },
    { x: box.right, y: box.top },
    { x: box.right, y: box.bottom },
    { x: box.left, y: box.bottom },
  ]);
}

const upload = (name: string, bytes: Uint8Array | string) => t.upload(name, bytes);

async function getFile(id: string, query: { markdown?: boolean; rawText?: boolean } = {}) {
  const { data, error } = await t.client.GET("/files/{id}", {
    params: { path: { id }, query },
  });
  expect(error).toBeUndefined();
  return data!.file;
}

async function parse(fileId: string, config?: Schemas["ParseConfig"]) {
  const { data, error } = await t.client.POST("/parse", {
    body: { file: { fileId }, ...(config ? { config } : {}) },
  });
  expect(error).toBeUndefined();
  expect(data?.status).toBe("PROCESSED");
  return data!;
}

async function run(body: Schemas["RunProcessorRequest"]) {
  const { data, error } = await t.client.POST("/processor_runs", { body: { ...body, sync: true } });
  expect(error).toBeUndefined();
  const processorRun = data!.processorRun;
  expect(processorRun.status).toBe("PROCESSED");
  return processorRun;
}

async function createProcessor(body: Schemas["CreateProcessorRequest"]) {
  const { data, error } = await t.client.POST("/processors", { body });
  expect(error).toBeUndefined();
  return data!.processor;
}

/** A report page: a 20 pt heading, a paragraph, a three-column table, and a closing paragraph. */
const REPORT = {
  heading: { text: "Quarterly Report", x: 72, y: 720, size: 20 },
  intro: [
    { text: "This report summarises the quarter.", x: 72, y: 690 },
    { text: "Sales grew in every region.", x: 72, y: 676 },
  ],
  // Header and three rows, 16 points apart, in columns at x = 72, 250 and 400.
  table: [
    ["Region", "Units", "Revenue"],
    ["North", "120", "1,200.00"],
    ["South", "95", "950.00"],
    ["West", "40", "400.00"],
  ].map((row, r) =>
    row.map((text, c) => ({ text, x: [72, 250, 400][c] as number, y: 630 - r * 16 })),
  ),
  outro: [
    { text: "Figures are unaudited.", x: 72, y: 560 },
    { text: "The next report is due in July.", x: 72, y: 546 },
  ],
};
const reportPage: Drawn[] = [
  REPORT.heading,
  ...REPORT.intro,
  ...REPORT.table.flat(),
  ...REPORT.outro,
];
const REPORT_TABLE_MARKDOWN = [
  "| Region | Units | Revenue |",
  "| --- | --- | --- |",
  "| North | 120 | 1,200.00 |",
  "| South | 95 | 950.00 |",
  "| West | 40 | 400.00 |",
].join("\n");

describe("parse blocks from a PDF's layout", () => {
  let fileId: string;
  beforeAll(async () => {
    fileId = (await upload("report.pdf", await pdfOf([reportPage]))).id;
  });

  test("cuts the page into heading, paragraph, table and paragraph blocks, each where its text was drawn", async () => {
    const runResult = await parse(fileId);
    expect(runResult.chunks).toHaveLength(1);
    const blocks = runResult.chunks[0]!.blocks;
    expect(blocks.map((b) => [b.type, b.content])).toEqual([
      ["heading", "Quarterly Report"],
      ["text", "This report summarises the quarter.\nSales grew in every region."],
      ["table", REPORT_TABLE_MARKDOWN],
      ["text", "Figures are unaudited.\nThe next report is due in July."],
    ]);
    const [heading, intro, table, outro] = blocks as [
      Schemas["Block"],
      Schemas["Block"],
      Schemas["Block"],
      Schemas["Block"],
    ];
    expect(table.details).toEqual({ type: "table_details", rowCount: 4, columnCount: 3 });
    expect(heading.details).toEqual({});
    expect(intro.details).toEqual({});
    expectBox(heading, await extent(REPORT.heading));
    expectBox(intro, await extent(...REPORT.intro));
    expectBox(table, await extent(...REPORT.table.flat()));
    expectBox(outro, await extent(...REPORT.outro));
    for (const block of blocks) {
      expect(block.object).toBe("block");
      expect(block.metadata.page).toEqual({ number: 1, width: PAGE_WIDTH, height: PAGE_HEIGHT });
      expect(block).not.toHaveProperty("children");
    }
    expect(new Set(blocks.map((b) => b.id)).size).toBe(4);
    expect(runResult.chunks[0]!.content).toBe(
      [
        "## Quarterly Report",
        "This report summarises the quarter.\nSales grew in every region.",
        REPORT_TABLE_MARKDOWN,
        "Figures are unaudited.\nThe next report is due in July.",
      ].join("\n\n"),
    );
  });

  test('with tables.targetFormat "html", renders the table block as an HTML table', async () => {
    const { chunks } = await parse(fileId, { blockOptions: { tables: { targetFormat: "html" } } });
    const table = chunks[0]!.blocks.find((b) => b.type === "table")!;
    expect(table.content).toBe(
      "<table>" +
        "<tr><th>Region</th><th>Units</th><th>Revenue</th></tr>" +
        "<tr><td>North</td><td>120</td><td>1,200.00</td></tr>" +
        "<tr><td>South</td><td>95</td><td>950.00</td></tr>" +
        "<tr><td>West</td><td>40</td><td>400.00</td></tr>" +
        "</table>",
    );
    expect(table.details).toEqual({ type: "table_details", rowCount: 4, columnCount: 3 });
    expect(chunks[0]!.content).toContain(table.content);
  });

  test("with cellBlocksEnabled, gives the table block one table_cell child per cell, by row and column", async () => {
    const { chunks } = await parse(fileId, {
      blockOptions: { tables: { cellBlocksEnabled: true } },
    });
    const table = chunks[0]!.blocks.find((b) => b.type === "table")!;
    const children = table.children ?? [];
    expect(children.map((c) => [c.type, c.content, c.details])).toEqual(
      REPORT.table.flatMap((row, rowIndex) =>
        row.map((cell, columnIndex) => [
          "table_cell",
          cell.text,
          { type: "table_cell_details", rowIndex, columnIndex },
        ]),
      ),
    );
    for (const [i, child] of children.entries()) {
      const drawn = REPORT.table.flat()[i] as Drawn;
      expect(child.object).toBe("block");
      expect(child.parentBlockId).toBe(table.id);
      expect(child.metadata.page?.number).toBe(1);
      expectBox(child, await extent(drawn));
    }
    expect(new Set(children.map((c) => c.id)).size).toBe(children.length);
    // The blocks around the table are the same as without cell blocks.
    expect(chunks[0]!.blocks.map((b) => b.type)).toEqual(["heading", "text", "table", "text"]);
  });

  test("with tables.enabled false, leaves no table block: the table's lines are text", async () => {
    const { chunks } = await parse(fileId, { blockOptions: { tables: { enabled: false } } });
    const blocks = chunks[0]!.blocks;
    expect(blocks.some((b) => b.type === "table" || b.type === "table_cell")).toBe(false);
    expect(blocks.every((b) => Object.keys(b.details).length === 0)).toBe(true);
    const content = blocks.map((b) => b.content).join("\n");
    for (const row of REPORT.table) {
      const line = content.split("\n").find((l) => l.startsWith(row[0]!.text));
      expect(line?.split(/\s+/)).toEqual(row.map((c) => c.text));
    }
    expect(chunks[0]!.content).not.toContain("| --- |");
  });
});

describe("parse text inputs", () => {
  test("reads markdown headings as heading blocks, without the #", async () => {
    const file = await upload(
      "notes.md",
      "# Title\n\nSome paragraph text here,\nwrapped onto a second line.\n\n## Details\n\nMore text follows.\n",
    );
    expect(file.type).toBe("TXT");
    const { chunks } = await parse(file.id);
    expect(chunks[0]!.blocks.map((b) => [b.type, b.content])).toEqual([
      ["heading", "Title"],
      ["text", "Some paragraph text here,\nwrapped onto a second line."],
      ["heading", "Details"],
      ["text", "More text follows."],
    ]);
  });

  test("with section chunking, starts a section at each heading", async () => {
    const file = await upload(
      "sections.md",
      "# Scope\n\nThe work covers design.\n\n# Fees\n\nFees are fixed.\nInvoices are monthly.\n\n# Term\n\nOne year.\n",
    );
    const { chunks } = await parse(file.id, { chunkingStrategy: { type: "section" } });
    expect(chunks.map((c) => [c.type, c.content, c.metadata.pageRange])).toEqual([
      ["section", "## Scope\n\nThe work covers design.", { start: 1, end: 1 }],
      ["section", "## Fees\n\nFees are fixed.\nInvoices are monthly.", { start: 1, end: 1 }],
      ["section", "## Term\n\nOne year.", { start: 1, end: 1 }],
    ]);
    expect(chunks.map((c) => c.blocks.map((b) => b.type))).toEqual([
      ["heading", "text"],
      ["heading", "text"],
      ["heading", "text"],
    ]);
  });

  test("reads a CSV as one table block whose rows are the CSV's rows, quoted commas and quotes kept", async () => {
    // The last name is longer than its column's header: it still belongs to its own column.
    const csv = [
      "Name,Destination,Note",
      'Alice,"Paris, France",First order',
      'Bob,Berlin,"Said ""hi"", then left"',
      "Carol Anne Whitfield-Montgomery,Rome,Regular",
    ].join("\r\n");
    const file = await upload("people.csv", csv);
    expect(file.type).toBe("CSV");
    const { chunks } = await parse(file.id);
    const blocks = chunks[0]!.blocks;
    expect(blocks.map((b) => b.type)).toEqual(["table"]);
    expect(blocks[0]!.details).toEqual({ type: "table_details", rowCount: 4, columnCount: 3 });
    expect(blocks[0]!.content).toBe(
      [
        "| Name | Destination | Note |",
        "| --- | --- | --- |",
        "| Alice | Paris, France | First order |",
        '| Bob | Berlin | Said "hi", then left |',
        "| Carol Anne Whitfield-Montgomery | Rome | Regular |",
      ].join("\n"),
    );
  });

  test("reads HTML without its tags, entities decoded, a table readable as a table", async () => {
    const html = [
      "<!doctype html><html><head><title>x</title><style>p { color: red; }</style></head><body>",
      "<p>Hello <b>world</b> &amp; friends.</p>",
      "<table>",
      "<tr><th>Item</th><th>Qty</th><th>Price</th></tr>",
      "<tr><td><b>Apple</b></td><td>3</td><td>1.50</td></tr>",
      "<tr><td>Banana bunch, <i>ripe</i></td><td>12</td><td>0.25</td></tr>",
      "<tr><td>Fish &amp; chips</td><td>1</td><td>7.00</td></tr>",
      "</table>",
      "</body></html>",
    ].join("\n");
    const file = await upload("page.html", html);
    expect(file.type).toBe("HTML");
    const { chunks } = await parse(file.id);
    const content = chunks[0]!.content;
    expect(content).not.toMatch(/<[a-z/!]/i);
    expect(content).not.toContain("color: red");
    expect(content).toContain("Hello world & friends.");
    const table = chunks[0]!.blocks.find((b) => b.type === "table");
    expect(table?.content).toBe(
      [
        "| Item | Qty | Price |",
        "| --- | --- | --- |",
        "| Apple | 3 | 1.50 |",
        "| Banana bunch, ripe | 12 | 0.25 |",
        "| Fish & chips | 1 | 7.00 |",
      ].join("\n"),
    );
    expect(table?.details).toEqual({ type: "table_details", rowCount: 4, columnCount: 3 });
  });

  test("reads XML as text, keeping its values", async () => {
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      "<order>",
      "  <number>PO-7781</number>",
      "  <customer>Globex Corporation</customer>",
      "</order>",
    ].join("\n");
    const file = await upload("order.xml", xml);
    expect(file.type).toBe("XML");
    const { chunks } = await parse(file.id);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.content).toContain("PO-7781");
    expect(chunks[0]!.content).toContain("Globex Corporation");
  });

  test("with document chunking, answers one chunk for a two-page PDF with pageRange 1–2", async () => {
    const file = await upload(
      "two-pages.pdf",
      await pdfOf([
        [{ text: "First page text.", x: 72, y: 720 }],
        [{ text: "Second page text.", x: 72, y: 720 }],
      ]),
    );
    const { chunks } = await parse(file.id, { chunkingStrategy: { type: "document" } });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.type).toBe("document");
    expect(chunks[0]!.metadata.pageRange).toEqual({ start: 1, end: 2 });
    expect(chunks[0]!.content).toBe("First page text.\n\nSecond page text.");
    expect(chunks[0]!.blocks.map((b) => [b.content, b.metadata.page?.number])).toEqual([
      ["First page text.", 1],
      ["Second page text.", 2],
    ]);
  });

  test("GET /files/{id}?markdown=true answers the markdown of a default POST /parse, per page and whole", async () => {
    const file = await upload(
      "markdown-same.pdf",
      await pdfOf([reportPage, [{ text: "Appendix", x: 72, y: 720, size: 20 }, ...REPORT.outro]]),
    );
    const { chunks } = await parse(file.id);
    expect(chunks.map((c) => c.type)).toEqual(["page", "page"]);
    const contents = (await getFile(file.id, { markdown: true })).contents!;
    expect(contents.pages?.map((p) => p.markdown)).toEqual(chunks.map((c) => c.content));
    expect(contents.markdown).toBe(chunks.map((c) => c.content).join("\n\n"));
    expect(contents.markdown).toContain(REPORT_TABLE_MARKDOWN);
  });
});

/** An invoice over two pages: header fields and line items on page 1, the totals on page 2. */
function invoicePages(invoiceDate: string, currency = "EUR"): Drawn[][] {
  const label = (text: string, y: number, value: string): Drawn[] => [
    { text, x: 72, y },
    { text: value, x: 200, y },
  ];
  // Columns: description left-aligned at 72; quantity, unit price and amount right-aligned.
  const row = (y: number, cells: [string, string, string, string]): Drawn[] => [
    { text: cells[0], x: 72, y },
    { text: cells[1], x: 350, y, align: "right" },
    { text: cells[2], x: 450, y, align: "right" },
    { text: cells[3], x: 540, y, align: "right" },
  ];
  return [
    [
      { text: "Northwind Traders GmbH", x: 72, y: 740, size: 18 },
      { text: "Hauptstrasse 5, 10115 Berlin", x: 72, y: 722, size: 10 },
      { text: "INVOICE", x: 72, y: 680, size: 20 },
      ...label("Invoice Number:", 640, "INV-2025-0042"),
      ...label("Invoice Date:", 624, invoiceDate),
      ...label("Due Date:", 608, "02/05/2025"),
      { text: "Bill To:", x: 72, y: 570 },
      { text: "Contoso Ltd", x: 72, y: 556 },
      { text: "1 Harbour Road, Dublin", x: 72, y: 542 },
      ...row(490, ["Description", "Qty", "Unit Price", "Amount"]),
      ...row(474, ["Consulting services", "10", "150.00", "1,500.00"]),
      { text: "March 2025, on site", x: 72, y: 460 },
      ...row(444, ["Software licence", "2", "250.00", "500.00"]),
      { text: "Continued on page 2.", x: 72, y: 380 },
    ],
    [
      { text: "Subtotal", x: 380, y: 720 },
      { text: `${currency} 2,000.00`, x: 540, y: 720, align: "right" },
      { text: "VAT 19%", x: 380, y: 704 },
      { text: `${currency} 380.00`, x: 540, y: 704, align: "right" },
      { text: "Total Due", x: 380, y: 688 },
      { text: `${currency} 2,380.00`, x: 540, y: 688, align: "right" },
      { text: "Please pay by bank transfer.", x: 72, y: 640 },
    ],
  ];
}

describe("extraction with the seeded invoice extractor", () => {
  test("reads every field of a two-page EUR invoice, day-first dates, line items and totals, with citations", async () => {
    const file = await upload("eur-invoice.pdf", await pdfOf(invoicePages("03/04/2025")));
    const result = await run({ processorId: "dp_invoice_extractor", file: { fileId: file.id } });
    const output = result.output as Schemas["JsonOutput"];
    expect(output.value).toEqual({
      invoice_number: "INV-2025-0042",
      invoice_date: "2025-04-03",
      due_date: "2025-05-02",
      vendor_name: "Northwind Traders GmbH",
      customer_name: "Contoso Ltd",
      purchase_order_number: null,
      subtotal: { amount: 2000, iso_4217_currency_code: "EUR" },
      tax: { amount: 380, iso_4217_currency_code: "EUR" },
      total: { amount: 2380, iso_4217_currency_code: "EUR" },
      line_items: [
        {
          description: "Consulting services\nMarch 2025, on site",
          quantity: 10,
          unit_price: 150,
          amount: 1500,
        },
        { description: "Software licence", quantity: 2, unit_price: 250, amount: 500 },
      ],
    });

    const { metadata } = output;
    // Absent fields have no metadata; every found value has a citation on its page.
    expect(Object.keys(metadata).sort()).toEqual(
      [
        "invoice_number",
        "invoice_date",
        "due_date",
        "vendor_name",
        "customer_name",
        "subtotal",
        "tax",
        "total",
        "line_items[0]",
        "line_items[1]",
      ].sort(),
    );
    const pageOf = (path: string) => metadata[path]?.citations?.[0]?.page;
    expect(pageOf("total")).toBe(2);
    expect(pageOf("subtotal")).toBe(2);
    expect(pageOf("tax")).toBe(2);
    expect(pageOf("invoice_number")).toBe(1);
    expect(pageOf("line_items[0]")).toBe(1);
    expect(metadata.total?.citations?.[0]?.referenceText).toContain("2,380.00");
    expect(metadata.invoice_number?.citations?.[0]?.referenceText).toContain("INV-2025-0042");
    expect(metadata.customer_name?.citations?.[0]?.referenceText).toBe("Contoso Ltd");
    for (const [path, field] of Object.entries(metadata)) {
      expect(field.logprobsConfidence, path).toBeGreaterThanOrEqual(0);
      expect(field.logprobsConfidence, path).toBeLessThanOrEqual(1);
      const citation = field.citations?.[0];
      expect(citation?.pageWidth, path).toBe(PAGE_WIDTH);
      expect(citation?.pageHeight, path).toBe(PAGE_HEIGHT);
      expect(citation?.polygon, path).toHaveLength(4);
    }
    // The total's citation box is around the line drawn 688 points above the bottom of page 2.
    const polygon = metadata.total!.citations![0]!.polygon!;
    expect(polygon[0]!.y).toBeCloseTo(PAGE_HEIGHT - 688 - 11, 0);
    expect(polygon[2]!.y).toBeCloseTo(PAGE_HEIGHT - 688, 0);
    expect(polygon[0]!.x).toBeCloseTo(380, 0);
    expect(polygon[2]!.x).toBeCloseTo(540, 0);
  });

  test('reads an invoice date written with a month name, "April 3, 2025"', async () => {
    const file = await upload("eur-invoice-words.pdf", await pdfOf(invoicePages("April 3, 2025")));
    const result = await run({ processorId: "dp_invoice_extractor", file: { fileId: file.id } });
    expect((result.output as Schemas["JsonOutput"]).value).toMatchObject({
      invoice_number: "INV-2025-0042",
      invoice_date: "2025-04-03",
      due_date: "2025-05-02",
    });
  });

  test("reads a USD invoice's dates day first when month first would put the due date before the invoice date", async () => {
    // Month first (the dollar default) gives 4 Mar and a due date of 5 Feb; day first gives
    // 3 Apr and 2 May, the only reading in which payment falls due after the invoice.
    const file = await upload(
      "usd-invoice-numeric.pdf",
      await pdfOf(invoicePages("03/04/2025", "USD")),
    );
    const result = await run({ processorId: "dp_invoice_extractor", file: { fileId: file.id } });
    expect((result.output as Schemas["JsonOutput"]).value).toMatchObject({
      invoice_date: "2025-04-03",
      due_date: "2025-05-02",
      total: { amount: 2380, iso_4217_currency_code: "USD" },
    });
  });

  test("reads a one-page USD invoice with values in the label's own cell", async () => {
    const text = (text: string, y: number, x = 72): Drawn => ({ text, x, y });
    const pdf = await pdfOf([
      [
        text("Acme Supplies Inc.", 740),
        text("Invoice #: A-7781", 700),
        text("Date: April 3, 2025", 684),
        text("PO Number: PO-5521", 668),
        text("Customer: Globex Corporation", 652),
        { text: "Description", x: 72, y: 600 },
        { text: "Qty", x: 350, y: 600, align: "right" },
        { text: "Rate", x: 450, y: 600, align: "right" },
        { text: "Total", x: 540, y: 600, align: "right" },
        { text: "Widgets", x: 72, y: 584 },
        { text: "4", x: 350, y: 584, align: "right" },
        { text: "$25.00", x: 450, y: 584, align: "right" },
        { text: "$100.00", x: 540, y: 584, align: "right" },
        text("Subtotal: $100.00", 540, 380),
        text("Tax: $8.25", 524, 380),
        text("Total: $108.25", 508, 380),
      ],
    ]);
    const file = await upload("usd-invoice.pdf", pdf);
    const result = await run({ processorId: "dp_invoice_extractor", file: { fileId: file.id } });
    expect((result.output as Schemas["JsonOutput"]).value).toEqual({
      invoice_number: "A-7781",
      invoice_date: "2025-04-03",
      due_date: null,
      vendor_name: "Acme Supplies Inc.",
      customer_name: "Globex Corporation",
      purchase_order_number: "PO-5521",
      subtotal: { amount: 100, iso_4217_currency_code: "USD" },
      tax: { amount: 8.25, iso_4217_currency_code: "USD" },
      total: { amount: 108.25, iso_4217_currency_code: "USD" },
      line_items: [{ description: "Widgets", quantity: 4, unit_price: 25, amount: 100 }],
    });
  });

  test("reads a contract's vendor and customer from the roles its parties are named in, not its title", async () => {
    const parties =
      '1. Parties. Globex Corporation (the “Client”) and Pixel Forge Studio ("Contractor") agree as follows.';
    const contract = ["SERVICES AGREEMENT", parties, "2. Term. Twelve months."].join("\n");
    const result = await run({ processorId: "dp_invoice_extractor", rawText: contract });
    const output = result.output as Schemas["JsonOutput"];
    expect(output.value).toMatchObject({
      vendor_name: "Pixel Forge Studio",
      customer_name: "Globex Corporation",
    });
    for (const field of ["vendor_name", "customer_name"]) {
      expect(output.metadata[field]?.citations?.[0], field).toMatchObject({
        page: 1,
        referenceText: parties,
      });
      expect(output.metadata[field]?.logprobsConfidence, field).toBe(0.7);
    }
  });

  test("a labelled vendor wins over a party role", async () => {
    const text = [
      "Vendor: Acme Supplies Inc.",
      'This order is placed by Initech AG ("Buyer") with Acme ("Seller").',
    ];
    const result = await run({ processorId: "dp_invoice_extractor", rawText: text.join("\n") });
    expect((result.output as Schemas["JsonOutput"]).value).toMatchObject({
      vendor_name: "Acme Supplies Inc.",
      customer_name: "Initech AG",
    });
  });

  test("skips a title line when it takes the issuer's name from the letterhead", async () => {
    const quote = ["QUOTATION", "Acme Supplies Inc.", "Quote #: Q-1042", "Total: $1,200.00"];
    const result = await run({ processorId: "dp_invoice_extractor", rawText: quote.join("\n") });
    const output = result.output as Schemas["JsonOutput"];
    expect(output.value.vendor_name).toBe("Acme Supplies Inc.");
    expect(output.metadata.vendor_name?.citations?.[0]?.referenceText).toBe("Acme Supplies Inc.");
  });
});

describe("extraction with a custom processor", () => {
  const ORDER = [
    "Order Confirmation",
    "Order Number: SO-5521",
    "Customer Reference: CR-88",
    "Seat Count: 25",
    "Paid: yes",
    "Payment Method: Bank Transfer",
    "Carrier: DHL",
    "Tracking Number: 1Z999AA10123456784",
  ].join("\n");

  test("reads booleans, enums, integers, nested objects and extend:name labels from a JSON Schema", async () => {
    const processor = await createProcessor({
      name: "Order fields",
      type: "EXTRACT",
      config: {
        type: "EXTRACT",
        schema: {
          type: "object",
          properties: {
            order_number: { type: ["string", "null"], description: "The order number" },
            ref: {
              type: ["string", "null"],
              "extend:name": "Customer Reference",
              description: "The buyer's own reference",
            },
            seat_count: { type: ["integer", "null"], description: "Seats ordered" },
            paid: { type: ["boolean", "null"], description: "Whether the order is paid" },
            gift_wrapped: { type: ["boolean", "null"], description: "Gift wrapping" },
            payment_method: {
              enum: ["card", "bank transfer", "cash", null],
              description: "How the order was paid",
            },
            delivery_window: {
              enum: ["morning", "afternoon", "evening", null],
              description: "When delivery is expected",
            },
            shipping: {
              type: "object",
              properties: {
                carrier: { type: ["string", "null"], description: "The shipping carrier" },
                tracking_number: { type: ["string", "null"], description: "Tracking number" },
              },
            },
          },
        },
      },
    });
    const result = await run({ processorId: processor.id, rawText: ORDER, version: "draft" });
    const output = result.output as Schemas["JsonOutput"];
    expect(output.value).toEqual({
      order_number: "SO-5521",
      ref: "CR-88",
      seat_count: 25,
      paid: true,
      gift_wrapped: null,
      payment_method: "bank transfer",
      delivery_window: null,
      shipping: { carrier: "DHL", tracking_number: "1Z999AA10123456784" },
    });
    expect(Object.keys(output.metadata).sort()).toEqual(
      [
        "order_number",
        "ref",
        "seat_count",
        "paid",
        "payment_method",
        "shipping.carrier",
        "shipping.tracking_number",
      ].sort(),
    );
    expect(output.metadata.ref?.citations?.[0]?.referenceText).toBe("Customer Reference: CR-88");
    expect(output.metadata["shipping.carrier"]?.citations?.[0]).toMatchObject({
      page: 1,
      referenceText: "Carrier: DHL",
    });
  });

  test("answers a legacy fields config in the fields-array shape, with references to the pages read", async () => {
    const processor = await createProcessor({
      name: "Legacy invoice fields",
      type: "EXTRACT",
      config: {
        type: "EXTRACT",
        fields: [
          { id: "f_number", name: "invoice_number", type: "string", description: "Invoice number" },
          { id: "f_date", name: "invoice_date", type: "date", description: "Invoice date" },
          { id: "f_total", name: "total", type: "currency", description: "Total due" },
          { id: "f_po", name: "po_number", type: "string", description: "Purchase order" },
          {
            id: "f_items",
            name: "line_items",
            type: "array",
            description: "Items",
            schema: [
              { id: "f_desc", name: "description", type: "string", description: "Item" },
              { id: "f_amount", name: "amount", type: "number", description: "Line total" },
            ],
          },
        ],
      },
    });
    const file = await upload("legacy-invoice.pdf", await pdfOf(invoicePages("03/04/2025")));
    const result = await run({
      processorId: processor.id,
      file: { fileId: file.id },
      version: "draft",
    });
    const output = result.output as Schemas["FieldsArrayOutput"];
    expect(Object.keys(output).sort()).toEqual([
      "f_date",
      "f_items",
      "f_number",
      "f_po",
      "f_total",
    ]);
    expect(output.f_number).toMatchObject({
      id: "f_number",
      type: "string",
      value: "INV-2025-0042",
      references: [{ id: "f_number", fieldName: "invoice_number", page: 1 }],
    });
    expect(output.f_date).toMatchObject({ type: "date", value: "2025-04-03" });
    expect(output.f_total).toMatchObject({
      type: "currency",
      value: { amount: 2380, iso_4217_currency_code: "EUR" },
      references: [{ id: "f_total", fieldName: "total", page: 2 }],
    });
    expect(output.f_po).toMatchObject({ id: "f_po", value: null, references: [] });
    expect(output.f_items?.value).toEqual([
      { description: "Consulting services\nMarch 2025, on site", amount: 1500 },
      { description: "Software licence", amount: 500 },
    ]);
    expect(output.f_items?.schema?.map((s) => s.id)).toEqual(["f_desc", "f_amount"]);
    for (const field of Object.values(output)) {
      expect(field.confidence).toBeGreaterThanOrEqual(0);
      expect(field.confidence).toBeLessThanOrEqual(1);
    }
    const box = output.f_total!.references[0]!.boundingBoxes[0]!;
    expect(box.top).toBeCloseTo(PAGE_HEIGHT - 688 - 11, 0);
    expect(box.bottom).toBeCloseTo(PAGE_HEIGHT - 688, 0);
  });
});

describe("classification with the seeded classifier", () => {
  const documents = {
    invoice: [
      "Northwind Traders GmbH",
      "INVOICE",
      "Invoice Number: INV-2025-0042",
      "Description   Qty   Amount",
      "Consulting   10   1,500.00",
      "Subtotal 1,500.00   Tax 285.00",
      "Total due: 1,785.00 EUR",
    ].join("\n"),
    receipt: [
      "Corner Coffee Shop",
      "RECEIPT",
      "Thank you for your purchase at our store!",
      "Latte   4.50",
      "Bagel   2.25",
      "Paid by card: 6.75",
    ].join("\n"),
    contract: [
      "Master Services Agreement",
      "This contract is entered into between Contoso Ltd and Northwind Traders GmbH (the parties).",
      "The effective date of this agreement is 1 May 2025.",
      "The parties agree to the terms and clauses below.",
      "Signatures: ____________   ____________",
    ].join("\n"),
  };

  /** Words of each type's description that its document uses, which the insight should name. */
  const evidence: Record<string, string[]> = {
    invoice: ["invoice", "number", "tax", "total"],
    receipt: ["receipt", "purchase", "store", "paid"],
    contract: ["contract", "agreement", "parties", "terms"],
  };

  test.each(Object.entries(documents))(
    "classifies the %s as its type, with a confidence in 0..1 and the words it read",
    async (expected, rawText) => {
      const result = await run({ processorId: "dp_document_classifier", rawText });
      const output = result.output as Schemas["ClassifierOutput"];
      expect(output).toMatchObject({ id: expected, type: expected });
      expect(output.confidence).toBeGreaterThan(0);
      expect(output.confidence).toBeLessThanOrEqual(1);
      expect(output.insights).toHaveLength(1);
      expect(output.insights[0]?.type).toBe("reasoning");
      for (const word of evidence[expected] ?? [])
        expect(output.insights[0]?.content).toContain(`"${word}"`);
      expect(output.insights[0]?.content).toMatch(new RegExp(`^Chose "${expected}"`));
    },
  );

  test("answers the same output for the same input", async () => {
    const first = await run({ processorId: "dp_document_classifier", rawText: documents.receipt });
    const second = await run({ processorId: "dp_document_classifier", rawText: documents.receipt });
    expect(second.id).not.toBe(first.id);
    expect(second.output).toEqual(first.output);
  });
});

describe("splitting", () => {
  test("splits a four-page PDF into an invoice and a contract, each a real two-page PDF file", async () => {
    const page = (...lines: string[]): Drawn[] =>
      lines.map((text, i) => ({ text, x: 72, y: 720 - i * 16 }));
    const pages = [
      page("INVOICE", "Invoice Number: INV-77", "Bill To: Globex Corporation"),
      page("Invoice line items", "Widgets   4   100.00", "Tax 8.25", "Total due 108.25"),
      page("SERVICE CONTRACT", "This contract is made between the parties named below."),
      page("Contract terms continued", "Each party signs this contract below."),
    ];
    const source = await upload("bundle.pdf", await pdfOf(pages));
    const splitter = await createProcessor({
      name: "Invoice and contract splitter",
      type: "SPLITTER",
      config: {
        type: "SPLITTER",
        splitClassifications: [
          { id: "invoice", type: "invoice", description: "An invoice with line items and a total" },
          { id: "contract", type: "contract", description: "A contract between parties" },
        ],
      },
    });
    const result = await run({
      processorId: splitter.id,
      file: { fileId: source.id },
      version: "draft",
    });
    const { splits } = result.output as Schemas["SplitterOutput"];
    expect(
      splits.map((s) => [s.type, s.classificationId, s.startPage, s.endPage, s.identifier]),
    ).toEqual([
      ["invoice", "invoice", 1, 2, "invoice-1-2"],
      ["contract", "contract", 3, 4, "contract-3-4"],
    ]);
    for (const split of splits) {
      expect(split.id).toMatch(/^split_/);
      expect(split.observation).toEqual(expect.any(String));
      const file = await getFile(split.fileId);
      expect(file).toMatchObject({ type: "PDF", parentFileId: source.id });
      expect(file.metadata.parentSplit).toEqual({
        id: split.id,
        type: split.type,
        identifier: split.identifier,
        startPage: split.startPage,
        endPage: split.endPage,
      });
      const response = await fetch(file.presignedUrl!);
      expect(response.status).toBe(200);
      const pdf = await PDFDocument.load(new Uint8Array(await response.arrayBuffer()));
      expect(pdf.getPageCount()).toBe(2);
      // The split file holds its own pages' text.
      const text = (await getFile(split.fileId, { rawText: true })).contents?.rawText ?? "";
      if (split.type === "invoice") {
        expect(text).toContain("INV-77");
        expect(text).not.toContain("SERVICE CONTRACT");
      } else {
        expect(text).toContain("SERVICE CONTRACT");
        expect(text).not.toContain("INV-77");
      }
    }
  });
});

describe("more text inputs", () => {
  test("a two-column CSV is one table block; HTML headings become heading blocks", async () => {
    const t = await startTestEmulator();
    try {
      const upload = async (name: string, text: string, type: string) => {
        const form = new FormData();
        form.append("file", new Blob([text], { type }), name);
        return (await t.client.POST("/files/upload", { body: form as never })).data!.file.id;
      };
      const csv = await upload("pairs.csv", "key,value\nalpha,1\nbeta,2\n", "text/csv");
      const parsedCsv = (await t.client.POST("/parse", { body: { file: { fileId: csv } } })).data!;
      const csvBlocks = parsedCsv.chunks.flatMap((c) => c.blocks);
      expect(csvBlocks.map((b) => b.type)).toEqual(["table"]);
      expect(csvBlocks[0]?.details).toEqual({ type: "table_details", rowCount: 3, columnCount: 2 });
      expect(csvBlocks[0]?.content).toBe(
        "| key | value |\n| --- | --- |\n| alpha | 1 |\n| beta | 2 |",
      );

      const html = await upload(
        "page.html",
        "<html><body><h1>Quarterly <em>report</em></h1><p>All good.</p><h2>Details</h2><p>More.</p></body></html>",
        "text/html",
      );
      const parsedHtml = (await t.client.POST("/parse", { body: { file: { fileId: html } } }))
        .data!;
      const htmlBlocks = parsedHtml.chunks.flatMap((c) => c.blocks);
      expect(htmlBlocks.map((b) => [b.type, b.content])).toEqual([
        ["heading", "Quarterly report"],
        ["text", "All good."],
        ["heading", "Details"],
        ["text", "More."],
      ]);
    } finally {
      await t.close();
    }
  });
});
