/**
 * Parse throughput per input format: the emulator's sample invoice written as a text PDF, a
 * Word, Excel and PowerPoint file, a PNG and a scanned PDF (an image with no text layer), each
 * uploaded as separate files so every parse reads its file cold. The documents come from the
 * same generators the emulator's tests use (a library writes each Office file; the images are
 * the PDF rendered with pdfjs), so the figures are for the same invoice in every format.
 */
import { sampleInvoicePdf } from "../../packages/emulator/src/sample.js";
import {
  sampleInvoicePng,
  scannedSampleInvoicePdf,
} from "../../packages/emulator/test/helpers/invoice-images.js";
import {
  invoiceDocx,
  invoicePptx,
  invoiceXlsx,
} from "../../packages/emulator/test/helpers/office-documents.js";
import { type Document, measure } from "./parse-throughput.js";
import type { Row } from "./types.js";

/** Text formats are read in milliseconds, OCR in about a second a page: fewer copies of those. */
const FORMATS: Array<{
  format: string;
  ext: string;
  copies: number;
  make: () => Promise<Uint8Array>;
}> = [
  {
    format: "PDF (text layer)",
    ext: "pdf",
    copies: 40,
    make: async () => (await sampleInvoicePdf()).bytes,
  },
  { format: "DOCX", ext: "docx", copies: 40, make: invoiceDocx },
  { format: "XLSX", ext: "xlsx", copies: 40, make: invoiceXlsx },
  { format: "PPTX", ext: "pptx", copies: 40, make: invoicePptx },
  { format: "PNG (OCR)", ext: "png", copies: 6, make: sampleInvoicePng },
  { format: "scanned PDF (render + OCR)", ext: "pdf", copies: 6, make: scannedSampleInvoicePdf },
];

const method =
  "emulator in-process (startEmulator, in-memory SQLite, pageLatencyMs 0), typed client over loopback; the sample invoice in each format uploaded as N separate files, one warm-up parse of another copy (it also starts the OCR worker), then sequential POST /parse, each file parsed once; ratio = ms/page ÷ the text PDF's ms/page in the same run";

/** Pages per second of `POST /parse` for each input format, with each format's cost against the text PDF. */
export async function formatThroughput(): Promise<Row[]> {
  const rows: Row[] = [];
  let pdfMsPerPage: number | undefined;
  for (const { format, ext, copies, make } of FORMATS) {
    const bytes = new Uint8Array(await make());
    const docs: Document[] = Array.from({ length: copies }, (_, i) => ({
      name: `invoice-${i}.${ext}`,
      bytes,
    }));
    const m = await measure(docs);
    const msPerPage = (m.seconds * 1000) / m.pages;
    pdfMsPerPage ??= msPerPage;
    rows.push({
      benchmark: `parse throughput, ${format}`,
      result: `${(m.pages / m.seconds).toFixed(1)} pages/s (${msPerPage.toFixed(1)} ms/page)`,
      against: `${(msPerPage / pdfMsPerPage).toFixed(2)}× the text PDF's time a page; ${m.pages} pages, ${bytes.byteLength} bytes each`,
      verdict: "info",
      method,
    });
  }
  return rows;
}
