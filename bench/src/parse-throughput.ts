import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createClient, type ExtendClient } from "@extendkit/core";
import { startEmulator } from "@extendkit/emulator";
import { PDFDocument, type PDFFont, StandardFonts } from "pdf-lib";
import type { Row } from "./types.js";

// This file sits two folders below the repository root both as source (bench/src) and once
// bundled (bench/dist/run.js). The corpus is licensed to someone else: it is read from beside
// the repository at run time and never copied into it.
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const corpusDir = path.resolve(repoRoot, "../shared/corpus/invoices");

const GENERATED_PAGES = 200;

export interface Document {
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
}

async function upload(client: ExtendClient, doc: Document): Promise<string> {
  const form = new FormData();
  form.append("file", new Blob([doc.bytes]), doc.name);
  const { data, error } = await client.POST("/files/upload", { body: form as never });
  if (error || !data) throw new Error(`upload of ${doc.name} failed: ${JSON.stringify(error)}`);
  return data.file.id;
}

/** One `POST /parse`; answers the page count the emulator reports. */
async function parse(client: ExtendClient, fileId: string, name: string): Promise<number> {
  const { data, error } = await client.POST("/parse", { body: { file: { fileId } } });
  if (error || !data || data.status !== "PROCESSED") {
    throw new Error(`parse of ${name} failed: ${JSON.stringify(error ?? data?.failureReason)}`);
  }
  return data.metrics.pageCount;
}

/**
 * Pages per second of sequential `POST /parse` calls over loopback, each on a file parsed for
 * the first time (the emulator keeps a file's layout once read, so a second parse of the same
 * file would skip the PDF reading). The warm-up parses a separate upload of the first document.
 */
export async function measure(docs: Document[]): Promise<{ pages: number; seconds: number }> {
  const emulator = await startEmulator({ port: 0, db: ":memory:", pageLatencyMs: 0 });
  try {
    const client = createClient({ baseUrl: emulator.url, token: emulator.token });
    const first = docs[0];
    if (!first) throw new Error("nothing to parse");
    const warmUpId = await upload(client, first);
    const ids: string[] = [];
    for (const doc of docs) ids.push(await upload(client, doc));
    await parse(client, warmUpId, first.name);
    let pages = 0;
    const start = performance.now();
    for (const [i, id] of ids.entries()) pages += await parse(client, id, docs[i]?.name ?? id);
    const seconds = (performance.now() - start) / 1000;
    return { pages, seconds };
  } finally {
    await emulator.close();
  }
}

/** A small seeded generator (mulberry32), so the generated document is the same every run. */
function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const ITEMS = [
  "Steel hex bolts M8 x 40",
  "Cable ties, black, 300 mm",
  "Safety gloves, size L",
  "Copy paper A4, 80 g/m2",
  "Toner cartridge, black",
  "LED panel 600 x 600",
  "Extension cord 10 m",
  "Stainless washers M8",
  "Packing tape, 48 mm",
  "Pallet wrap film",
  "Label printer rolls",
  "Work boots, size 43",
];

/** Draws one invoice-like page: heading, label: value lines, a 10-row item table and totals. */
function drawInvoicePage(
  pdf: PDFDocument,
  fonts: { regular: PDFFont; bold: PDFFont },
  n: number,
  random: () => number,
) {
  const page = pdf.addPage([612, 792]);
  const text = (value: string, x: number, y: number, size = 10, font = fonts.regular) =>
    page.drawText(value, { x, y, size, font });
  const number = `INV-${String(10_000 + n).padStart(6, "0")}`;
  const issued = Date.UTC(2025, n % 12, (n % 28) + 1);
  const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

  text("INVOICE", 72, 735, 22, fonts.bold);
  text("Northwind Industrial Supply Co.", 72, 712, 12, fonts.bold);
  text("1200 Harbor Way, Oakland, CA 94607", 72, 698, 9);

  const labels: Array<[string, string]> = [
    ["Invoice Number", number],
    ["Invoice Date", isoDate(issued)],
    ["Due Date", isoDate(issued + 30 * 86_400_000)],
    ["Purchase Order", `PO-${48_000 + n * 7}`],
    ["Customer", `Customer ${String(n % 40).padStart(3, "0")} Holdings LLC`],
    ["Customer ID", `C-${7_000 + (n % 40)}`],
    ["Bill To", `${100 + n} Market Street, Suite ${n % 9}00, San Francisco, CA`],
    ["Ship To", `Warehouse ${(n % 5) + 1}, 88 Depot Road, Fresno, CA`],
    ["Payment Terms", "Net 30"],
    ["Sales Rep", ["A. Moreno", "J. Chen", "P. Okafor", "L. Schmidt"][n % 4] ?? ""],
    ["Currency", "USD"],
    ["Reference", `REF-${(n * 7919) % 100_000}`],
  ];
  labels.forEach(([label, value], i) => {
    text(`${label}:`, 72, 670 - i * 15, 10, fonts.bold);
    text(value, 190, 670 - i * 15);
  });

  // The item table: columns at fixed x positions, a header row and ten item rows.
  const columns = { description: 72, quantity: 340, unit: 410, amount: 495 };
  const headerY = 475;
  text("Description", columns.description, headerY, 10, fonts.bold);
  text("Qty", columns.quantity, headerY, 10, fonts.bold);
  text("Unit Price", columns.unit, headerY, 10, fonts.bold);
  text("Amount", columns.amount, headerY, 10, fonts.bold);
  page.drawLine({
    start: { x: 72, y: headerY - 5 },
    end: { x: 560, y: headerY - 5 },
    thickness: 0.5,
  });
  let subtotal = 0;
  for (let row = 0; row < 10; row++) {
    const y = headerY - 22 - row * 17;
    const quantity = 1 + Math.floor(random() * 24);
    const unit = Math.round((2 + random() * 180) * 100) / 100;
    const amount = Math.round(quantity * unit * 100) / 100;
    subtotal += amount;
    text(ITEMS[(n + row) % ITEMS.length] ?? "Item", columns.description, y);
    text(String(quantity), columns.quantity, y);
    text(unit.toFixed(2), columns.unit, y);
    text(amount.toFixed(2), columns.amount, y);
  }
  const tax = Math.round(subtotal * 0.0825 * 100) / 100;
  const totalsY = headerY - 22 - 10 * 17 - 12;
  text("Subtotal:", columns.unit, totalsY, 10, fonts.bold);
  text(subtotal.toFixed(2), columns.amount, totalsY);
  text("Tax (8.25%):", columns.unit, totalsY - 15, 10, fonts.bold);
  text(tax.toFixed(2), columns.amount, totalsY - 15);
  text("Total Due:", columns.unit, totalsY - 30, 10, fonts.bold);
  text((subtotal + tax).toFixed(2), columns.amount, totalsY - 30, 10, fonts.bold);
  text(`Page ${n + 1} of ${GENERATED_PAGES}`, 72, 40, 8);
}

/** A deterministic PDF of `pages` invoice-like letter pages (fixed metadata, seeded values). */
export async function generatedInvoicePdf(
  pages = GENERATED_PAGES,
): Promise<Uint8Array<ArrayBuffer>> {
  const pdf = await PDFDocument.create({ updateMetadata: false });
  const fonts = {
    regular: await pdf.embedFont(StandardFonts.Helvetica),
    bold: await pdf.embedFont(StandardFonts.HelveticaBold),
  };
  const random = seeded(20250421);
  for (let n = 0; n < pages; n++) drawInvoicePage(pdf, fonts, n, random);
  return new Uint8Array(await pdf.save());
}

const rate = (m: { pages: number; seconds: number }) =>
  `${(m.pages / m.seconds).toFixed(1)} pages/s (${((m.seconds * 1000) / m.pages).toFixed(1)} ms/page)`;

const method =
  "emulator in-process (startEmulator, in-memory SQLite, pageLatencyMs 0), typed client over loopback; documents uploaded first, one warm-up parse of a separate upload, then sequential POST /parse, each file parsed once (cold layout); pages/s = pages reported by metrics.pageCount / elapsed seconds";

/** Parse throughput of the emulator in pages per second, on the real corpus and on a generated PDF. */
export async function parseThroughput(): Promise<Row[]> {
  const rows: Row[] = [];
  if (existsSync(corpusDir)) {
    const docs = readdirSync(corpusDir)
      .filter((name) => name.toLowerCase().endsWith(".pdf"))
      .sort()
      .map((name) => ({ name, bytes: new Uint8Array(readFileSync(path.join(corpusDir, name))) }));
    const m = await measure(docs);
    rows.push({
      benchmark: "parse throughput, corpus PDFs",
      result: rate(m),
      against: `corpus of ${docs.length} real invoices, ${m.pages} pages`,
      verdict: "info",
      method: `${method}; corpus read from ${corpusDir}`,
    });
  } else {
    rows.push({
      benchmark: "parse throughput, corpus PDFs",
      result: "skipped: the invoice corpus is absent",
      against: `no folder at ${corpusDir}`,
      verdict: "info",
      method: "needs the licensed invoice corpus beside the repository (../shared/corpus/invoices)",
    });
  }
  const generated = await measure([
    { name: "generated-invoices.pdf", bytes: await generatedInvoicePdf() },
  ]);
  rows.push({
    benchmark: "parse throughput, generated PDF",
    result: rate(generated),
    against: `generated, ${generated.pages} invoice-like pages`,
    verdict: "info",
    method: `${method}; one pdf-lib PDF of ${GENERATED_PAGES} pages (heading, 12 label: value lines, 10-row item table at fixed columns, seeded values)`,
  });
  return rows;
}
