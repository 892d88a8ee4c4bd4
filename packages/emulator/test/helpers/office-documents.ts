/**
 * Office documents written the way a person would make them in Word, Excel and PowerPoint,
 * for the emulator's DOCX, XLSX and PPTX readers. The invoice is the emulator's sample invoice
 * (`sampleInvoicePdf()` in src/sample.ts) with the same text; the second document of each
 * format holds other, non-invoice content. No vitest imports: a benchmark can use these too.
 */
import {
  AlignmentType,
  Document,
  HeadingLevel,
  Packer,
  Paragraph,
  Table,
  TableCell,
  TableRow,
  TextRun,
  WidthType,
} from "docx";
import ExcelJS from "exceljs";
import PptxGenJS from "pptxgenjs";

/** The sample invoice's text, as `sampleInvoicePdf()` prints it. */
export const INVOICE = {
  letterhead: "Northwind Office Supply",
  title: "INVOICE",
  fields: [
    ["Invoice Number:", "NW-2025-0412"],
    ["Invoice Date:", "2025-04-12"],
    ["Due Date:", "2025-05-12"],
    ["Vendor:", "Northwind Office Supply"],
    ["Bill To:", "Globex Corporation"],
  ] as Array<[label: string, value: string]>,
  columns: ["Description", "Qty", "Unit price", "Amount"],
  items: [
    ["Laser printer paper (box)", 12, 24.5],
    ["Toner cartridge, black", 3, 89.99],
    ["Desk organizer", 5, 15.25],
  ] as Array<[description: string, quantity: number, unitPrice: number]>,
  /** The sums as the sample computes them: tax is 8% rounded to the cent. */
  get subtotal() {
    return this.items.reduce((sum, [, quantity, price]) => sum + quantity * price, 0);
  },
  get tax() {
    return Math.round(this.subtotal * 8) / 100;
  },
  get total() {
    return Math.round((this.subtotal + this.tax) * 100) / 100;
  },
};

const dollars = (n: number) => `$${n.toFixed(2)}`;

/** The totals lines under the item table: "Subtotal: $640.22" and so on. */
function totalsLines(): Array<[label: string, amount: number]> {
  return [
    ["Subtotal:", INVOICE.subtotal],
    ["Tax:", INVOICE.tax],
    ["Total Due:", INVOICE.total],
  ];
}

// ---------------------------------------------------------------------------------------------
// Word

function wordTable(rows: string[][]): Table {
  return new Table({
    width: { size: 100, type: WidthType.PERCENTAGE },
    rows: rows.map(
      (cells, index) =>
        new TableRow({
          tableHeader: index === 0,
          children: cells.map(
            (text) =>
              new TableCell({
                children: [new Paragraph({ children: [new TextRun({ text, bold: index === 0 })] })],
              }),
          ),
        }),
    ),
  });
}

async function packDocx(children: Array<Paragraph | Table>): Promise<Uint8Array> {
  const doc = new Document({
    creator: "extendkit tests",
    sections: [{ children }],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

/**
 * The sample invoice as a Word document: the letterhead in the Title style, "INVOICE" as a
 * heading, the five fields as paragraphs with a bold label, the items as a real table and the
 * totals as right-aligned paragraphs.
 */
export function invoiceDocx(): Promise<Uint8Array> {
  return packDocx([
    new Paragraph({ text: INVOICE.letterhead, heading: HeadingLevel.TITLE }),
    new Paragraph({ text: INVOICE.title, heading: HeadingLevel.HEADING_1 }),
    ...INVOICE.fields.map(
      ([label, value]) =>
        new Paragraph({
          children: [new TextRun({ text: `${label} `, bold: true }), new TextRun(value)],
        }),
    ),
    wordTable([
      INVOICE.columns,
      ...INVOICE.items.map(([description, quantity, price]) => [
        description,
        String(quantity),
        dollars(price),
        dollars(quantity * price),
      ]),
    ]),
    ...totalsLines().map(
      ([label, amount]) =>
        new Paragraph({
          alignment: AlignmentType.RIGHT,
          children: [
            new TextRun({ text: `${label} ${dollars(amount)}`, bold: label === "Total Due:" }),
          ],
        }),
    ),
  ]);
}

/** What {@link contractDocx} says, to check its parse against. */
export const CONTRACT = {
  title: "Master Services Agreement",
  headings: ["1. Services and Fees", "2. Term and Termination"],
  parties:
    'This agreement is made between Contoso Consulting Ltd ("Service Provider") and Globex Corporation ("Client"), the parties.',
  fees: [
    ["Service", "Rate", "Unit", "Billing"],
    ["Strategy workshop", "$1,200.00", "day", "monthly"],
    ["Implementation support", "$150.00", "hour", "monthly"],
  ],
  term: "The effective date of this agreement is 1 May 2025; either party may end it with 30 days' notice.",
  signatures: "Signed by the parties: ____________   ____________",
};

/** A short services contract as a Word document: a title, two numbered headings and a fee table. */
export function contractDocx(): Promise<Uint8Array> {
  return packDocx([
    new Paragraph({ text: CONTRACT.title, heading: HeadingLevel.TITLE }),
    new Paragraph(CONTRACT.parties),
    new Paragraph({ text: CONTRACT.headings[0], heading: HeadingLevel.HEADING_1 }),
    new Paragraph("The Service Provider performs the services below at these rates:"),
    wordTable(CONTRACT.fees),
    new Paragraph({ text: CONTRACT.headings[1], heading: HeadingLevel.HEADING_1 }),
    new Paragraph(CONTRACT.term),
    new Paragraph(CONTRACT.signatures),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Excel

const CURRENCY = '"$"#,##0.00';

async function packXlsx(workbook: ExcelJS.Workbook): Promise<Uint8Array> {
  return new Uint8Array(await workbook.xlsx.writeBuffer());
}

/** A calendar date as Excel stores it: midnight UTC (ExcelJS writes it as a serial number). */
const day = (iso: string) => new Date(`${iso}T00:00:00Z`);

/**
 * The sample invoice as a worksheet: the letterhead and "INVOICE" in large bold cells, the
 * fields as label and value cells (the dates real dates formatted yyyy-mm-dd), the items as a
 * table of cells (prices in a currency format, amounts and totals as formulas with their
 * results) and the totals under the Amount column.
 */
export async function invoiceXlsx(): Promise<Uint8Array> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = "extendkit tests";
  workbook.created = day("2025-04-12");
  const sheet = workbook.addWorksheet("Invoice");
  sheet.columns = [{ width: 28 }, { width: 24 }, { width: 14 }, { width: 14 }];
  sheet.getCell("A1").value = INVOICE.letterhead;
  sheet.getCell("A1").font = { bold: true, size: 18 };
  sheet.getCell("A3").value = INVOICE.title;
  sheet.getCell("A3").font = { bold: true, size: 14 };
  INVOICE.fields.forEach(([label, value], i) => {
    const row = 5 + i;
    sheet.getCell(`A${row}`).value = label;
    const cell = sheet.getCell(`B${row}`);
    if (/^\d{4}-\d\d-\d\d$/.test(value)) {
      cell.value = day(value);
      cell.numFmt = "yyyy-mm-dd";
    } else cell.value = value;
  });
  const header = sheet.getRow(11);
  header.values = INVOICE.columns;
  header.font = { bold: true };
  INVOICE.items.forEach(([description, quantity, price], i) => {
    const row = 12 + i;
    sheet.getCell(`A${row}`).value = description;
    sheet.getCell(`B${row}`).value = quantity;
    sheet.getCell(`C${row}`).value = price;
    sheet.getCell(`C${row}`).numFmt = CURRENCY;
    sheet.getCell(`D${row}`).value = { formula: `B${row}*C${row}`, result: quantity * price };
    sheet.getCell(`D${row}`).numFmt = CURRENCY;
  });
  const last = 11 + INVOICE.items.length;
  const formulas = [`SUM(D12:D${last})`, `ROUND(D${last + 2}*0.08,2)`, `D${last + 2}+D${last + 3}`];
  totalsLines().forEach(([label, amount], i) => {
    const row = last + 2 + i;
    sheet.getCell(`C${row}`).value = label;
    sheet.getCell(`D${row}`).value = { formula: formulas[i] as string, result: amount };
    sheet.getCell(`D${row}`).numFmt = CURRENCY;
    if (label === "Total Due:") sheet.getRow(row).font = { bold: true };
  });
  return packXlsx(workbook);
}

/** What {@link salesXlsx} holds: two sheets, each a table. */
export const SALES = {
  sheets: ["Q1 Sales", "Targets"],
  header: ["Region", "January", "February", "March", "Total"],
  regions: [
    ["North", 12500, 13250.5, 14100],
    ["South", 9800, 10150, 9975.25],
    ["West", 15200, 14875, 16020],
  ] as Array<[region: string, ...months: number[]]>,
  targets: [
    ["Region", "Target", "Share"],
    ["North", 40000, 0.35],
    ["South", 30000, 0.25],
  ] as const,
};

/**
 * A quarterly sales report as a workbook: a data sheet whose first row is the header (numbers
 * in `#,##0.00`, a SUM formula per row) and a second sheet of targets with a percentage column.
 */
export async function salesXlsx(): Promise<Uint8Array> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = "extendkit tests";
  const sales = workbook.addWorksheet(SALES.sheets[0]);
  sales.addRow(SALES.header).font = { bold: true };
  SALES.regions.forEach(([region, ...months], i) => {
    const row = sales.addRow([region, ...months]);
    const n = i + 2;
    row.getCell(5).value = {
      formula: `SUM(B${n}:D${n})`,
      result: months.reduce((a, b) => a + b, 0),
    };
    for (let c = 2; c <= 5; c++) row.getCell(c).numFmt = "#,##0.00";
  });
  const targets = workbook.addWorksheet(SALES.sheets[1]);
  for (const values of SALES.targets) {
    const row = targets.addRow([...values]);
    row.getCell(2).numFmt = "#,##0";
    row.getCell(3).numFmt = "0%";
  }
  return packXlsx(workbook);
}

// ---------------------------------------------------------------------------------------------
// PowerPoint

/** A deck with a master whose title placeholder sits at the top of a 16:9 slide. */
function deck() {
  const pptx = new PptxGenJS();
  pptx.layout = "LAYOUT_16x9";
  pptx.author = "extendkit tests";
  pptx.defineSlideMaster({
    title: "TITLE_AND_BODY",
    objects: [
      {
        placeholder: {
          options: { name: "title", type: "title", x: 0.5, y: 0.25, w: 9, h: 0.6 },
          text: "",
        },
      },
    ],
  });
  return pptx;
}

async function packPptx(pptx: PptxGenJS): Promise<Uint8Array> {
  return new Uint8Array((await pptx.write({ outputType: "uint8array" })) as Uint8Array);
}

const paragraphs = (lines: string[]) =>
  lines.map((text) => ({ text, options: { breakLine: true } }));

/**
 * The sample invoice as one slide: the letterhead as the slide title, "INVOICE" and the five
 * fields in text boxes, the items as a table and the totals in a right-aligned text box.
 */
export async function invoicePptx(): Promise<Uint8Array> {
  const pptx = deck();
  const slide = pptx.addSlide({ masterName: "TITLE_AND_BODY" });
  slide.addText(INVOICE.letterhead, { placeholder: "title", fontSize: 24, bold: true });
  slide.addText(INVOICE.title, { x: 0.5, y: 0.9, w: 4, h: 0.3, fontSize: 14, bold: true });
  slide.addText(paragraphs(INVOICE.fields.map(([label, value]) => `${label} ${value}`)), {
    x: 0.5,
    y: 1.25,
    w: 5,
    h: 1.1,
    fontSize: 11,
    valign: "top",
  });
  slide.addTable(
    [
      INVOICE.columns.map((text) => ({ text, options: { bold: true } })),
      ...INVOICE.items.map(([description, quantity, price]) =>
        [description, String(quantity), dollars(price), dollars(quantity * price)].map((text) => ({
          text,
        })),
      ),
    ],
    { x: 0.5, y: 2.5, w: 9, colW: [4.2, 1.2, 1.8, 1.8], rowH: 0.3, fontSize: 11 },
  );
  slide.addText(paragraphs(totalsLines().map(([label, amount]) => `${label} ${dollars(amount)}`)), {
    x: 5.5,
    y: 3.9,
    w: 4,
    h: 0.8,
    fontSize: 11,
    align: "right",
    valign: "top",
  });
  return packPptx(pptx);
}

/** What {@link statusPptx} says: two slides, the second with a milestones table. */
export const STATUS = {
  titles: ["Project Atlas Status Report", "Milestones"],
  bullets: [
    "Scope: migrate the billing platform to the new data centre",
    "Budget: on track, 62% spent",
    "Risks: vendor hardware delivery may slip by two weeks",
  ],
  milestones: [
    ["Milestone", "Owner", "Due", "Status"],
    ["Hardware installed", "Priya Shah", "2025-06-30", "At risk"],
    ["Data migrated", "Tom Berg", "2025-08-15", "Planned"],
  ],
};

/** A two-slide status report: a title and bullet points, then a title and a milestones table. */
export async function statusPptx(): Promise<Uint8Array> {
  const pptx = deck();
  const first = pptx.addSlide({ masterName: "TITLE_AND_BODY" });
  first.addText(STATUS.titles[0] as string, { placeholder: "title", fontSize: 28 });
  first.addText(
    STATUS.bullets.map((text) => ({ text, options: { bullet: true, breakLine: true } })),
    { x: 0.5, y: 1.2, w: 9, h: 2, fontSize: 16, valign: "top" },
  );
  const second = pptx.addSlide({ masterName: "TITLE_AND_BODY" });
  second.addText(STATUS.titles[1] as string, { placeholder: "title", fontSize: 28 });
  second.addTable(
    STATUS.milestones.map((row) => row.map((text) => ({ text }))),
    { x: 0.5, y: 1.2, w: 9, colW: [3, 2.2, 1.8, 2], rowH: 0.35, fontSize: 12 },
  );
  return packPptx(pptx);
}
