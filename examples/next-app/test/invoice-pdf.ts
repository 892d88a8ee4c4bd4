import { PDFDocument, StandardFonts } from "pdf-lib";

/** The fields printed on the generated invoice, as the extractor should read them back. */
export const INVOICE = {
  vendor: "Northwind Traders",
  number: "INV-7731",
  date: "2026-11-30",
  due: "2026-12-30",
  total: "$2,418.50",
};

/** A one-page invoice PDF with a real text layer, generated on the spot. */
export async function invoicePdf(): Promise<Uint8Array<ArrayBuffer>> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const page = pdf.addPage([612, 792]);
  const lines = [
    INVOICE.vendor,
    "INVOICE",
    `Invoice number: ${INVOICE.number}`,
    `Invoice date: ${INVOICE.date}`,
    `Due date: ${INVOICE.due}`,
    "Consulting services, November",
    `Total: ${INVOICE.total}`,
  ];
  lines.forEach((line, i) => {
    page.drawText(line, { x: 72, y: 720 - i * 18, size: 11, font });
  });
  return new Uint8Array(await pdf.save());
}
