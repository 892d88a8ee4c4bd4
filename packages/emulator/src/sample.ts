import { PDFDocument, StandardFonts } from "pdf-lib";

/** What {@link sampleInvoicePdf} wrote on the invoice, to compare an extraction with. */
export interface SampleInvoice {
  /** The PDF's bytes. */
  bytes: Uint8Array;
  /** The values printed on it, named as the seeded extractor names them. */
  values: {
    invoice_number: string;
    invoice_date: string;
    due_date: string;
    vendor_name: string;
    customer_name: string;
    total: { amount: number; iso_4217_currency_code: string };
  };
}

const ITEMS: Array<[description: string, quantity: number, unitPrice: number]> = [
  ["Laser printer paper (box)", 12, 24.5],
  ["Toner cartridge, black", 3, 89.99],
  ["Desk organizer", 5, 15.25],
];

/**
 * A one-page invoice PDF with a text layer, for trying the emulator without a document of
 * your own: `npx @extendkit/emulator sample invoice.pdf` writes it. The seeded invoice
 * workflow reads every value listed in `values` from it.
 *
 * @example
 * ```ts
 * import { writeFile } from "node:fs/promises";
 * import { sampleInvoicePdf } from "@extendkit/emulator";
 *
 * const invoice = await sampleInvoicePdf();
 * await writeFile("invoice.pdf", invoice.bytes);
 * console.log(invoice.values.invoice_number); // "NW-2025-0412"
 * ```
 */
export async function sampleInvoicePdf(): Promise<SampleInvoice> {
  const pdf = await PDFDocument.create();
  pdf.setTitle("Invoice NW-2025-0412");
  // A fixed date keeps the file byte-for-byte the same on every run.
  pdf.setCreationDate(new Date("2025-04-12T00:00:00Z"));
  pdf.setModificationDate(new Date("2025-04-12T00:00:00Z"));
  const page = pdf.addPage([612, 792]);
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  let y = 740;
  const text = (value: string, x = 56, size = 11, font = regular) =>
    page.drawText(value, { x, y, size, font });
  text("Northwind Office Supply", 56, 18, bold);
  y -= 40;
  text("INVOICE", 56, 14, bold);
  y -= 28;
  for (const line of [
    "Invoice Number: NW-2025-0412",
    "Invoice Date: 2025-04-12",
    "Due Date: 2025-05-12",
    "Vendor: Northwind Office Supply",
    "Bill To: Globex Corporation",
  ]) {
    text(line);
    y -= 18;
  }
  y -= 14;
  for (const [label, x] of [
    ["Description", 56],
    ["Qty", 340],
    ["Unit price", 400],
    ["Amount", 500],
  ] as const)
    text(label, x, 11, bold);
  y -= 18;
  let subtotal = 0;
  for (const [description, quantity, unitPrice] of ITEMS) {
    subtotal += quantity * unitPrice;
    text(description);
    text(String(quantity), 340);
    text(`$${unitPrice.toFixed(2)}`, 400);
    text(`$${(quantity * unitPrice).toFixed(2)}`, 500);
    y -= 18;
  }
  y -= 14;
  const tax = Math.round(subtotal * 8) / 100;
  const total = Math.round((subtotal + tax) * 100) / 100;
  text(`Subtotal: $${subtotal.toFixed(2)}`, 380);
  y -= 18;
  text(`Tax: $${tax.toFixed(2)}`, 380);
  y -= 18;
  text(`Total Due: $${total.toFixed(2)}`, 380, 12, bold);
  return {
    bytes: new Uint8Array(await pdf.save()),
    values: {
      invoice_number: "NW-2025-0412",
      invoice_date: "2025-04-12",
      due_date: "2025-05-12",
      vendor_name: "Northwind Office Supply",
      customer_name: "Globex Corporation",
      total: { amount: total, iso_4217_currency_code: "USD" },
    },
  };
}
