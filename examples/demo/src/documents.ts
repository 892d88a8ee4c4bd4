import { PDFDocument, StandardFonts } from "pdf-lib";

/** A sample document the demo generates itself (nothing is downloaded). */
export interface SampleDocument {
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
  type: string;
}

interface Invoice {
  vendor: string;
  number: string;
  date: string;
  due: string;
  customer: string;
  currency: string;
  items: Array<[description: string, quantity: number, unitPrice: number]>;
  taxRate: number;
  /** Put the totals on a second page. */
  totalsOverleaf?: boolean;
}

const INVOICES: Invoice[] = [
  {
    vendor: "Northwind Office Supply",
    number: "NW-2025-0412",
    date: "2025-04-12",
    due: "2025-05-12",
    customer: "Globex Corporation",
    currency: "$",
    items: [
      ["Laser printer paper (box)", 12, 24.5],
      ["Toner cartridge, black", 3, 89.99],
      ["Desk organizer", 5, 15.25],
    ],
    taxRate: 0.08,
  },
  {
    vendor: "Blue Harbor Logistics GmbH",
    number: "BH-88213",
    // Day first, as a German invoice writes it: 3 February, due 5 March (30 days).
    date: "03/02/2025",
    due: "05/03/2025",
    customer: "Initech AG",
    currency: "€",
    items: [
      ["Freight Hamburg - Rotterdam", 1, 1450],
      ["Customs handling", 1, 180],
    ],
    taxRate: 0.19,
  },
  {
    vendor: "Pixel Forge Studio",
    number: "PF-107",
    date: "January 28, 2025",
    due: "February 27, 2025",
    customer: "Umbrella Health",
    currency: "£",
    items: [
      ["Brand identity design", 1, 3200],
      ["Website illustrations", 8, 140],
    ],
    taxRate: 0.2,
    totalsOverleaf: true,
  },
];

const money = (currency: string, n: number) => `${currency}${n.toFixed(2)}`;

async function invoicePdf(invoice: Invoice): Promise<Uint8Array<ArrayBuffer>> {
  const pdf = await PDFDocument.create();
  let page = pdf.addPage([612, 792]);
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  let y = 740;
  const line = (text: string, x = 56, size = 11, font = regular) => {
    page.drawText(text, { x, y, size, font });
  };
  line(invoice.vendor, 56, 18, bold);
  y -= 40;
  line("INVOICE", 56, 14, bold);
  y -= 28;
  for (const [label, value] of [
    ["Invoice Number", invoice.number],
    ["Invoice Date", invoice.date],
    ["Due Date", invoice.due],
    ["Vendor", invoice.vendor],
    ["Bill To", invoice.customer],
  ]) {
    line(`${label}: ${value}`);
    y -= 18;
  }
  y -= 14;
  line("Description", 56, 11, bold);
  line("Qty", 340, 11, bold);
  line("Unit price", 400, 11, bold);
  line("Amount", 500, 11, bold);
  y -= 18;
  let subtotal = 0;
  for (const [description, quantity, unitPrice] of invoice.items) {
    const amount = quantity * unitPrice;
    subtotal += amount;
    line(description);
    line(String(quantity), 340);
    line(money(invoice.currency, unitPrice), 400);
    line(money(invoice.currency, amount), 500);
    y -= 18;
  }
  y -= 14;
  if (invoice.totalsOverleaf) {
    page = pdf.addPage([612, 792]);
    y = 740;
    line(`${invoice.vendor}: invoice ${invoice.number} (continued)`);
    y -= 40;
  }
  const tax = subtotal * invoice.taxRate;
  line(`Subtotal: ${money(invoice.currency, subtotal)}`, 380);
  y -= 18;
  line(`Tax: ${money(invoice.currency, tax)}`, 380);
  y -= 18;
  line(`Total Due: ${money(invoice.currency, subtotal + tax)}`, 380, 12, bold);
  // Copied into a plain ArrayBuffer-backed array, which Blob accepts.
  return new Uint8Array(await pdf.save());
}

const RECEIPT = `CORNER CAFE
Receipt #55821
2025-02-14 08:42
1 x Flat white         3.80
1 x Croissant          2.90
TOTAL PAID             6.70
Paid by card. Thank you for your visit!`;

const CONTRACT = `SERVICES AGREEMENT
This agreement is made between Globex Corporation ("Client") and Pixel Forge Studio ("Contractor").
1. Term. The effective date of this agreement is March 1, 2025; it continues for twelve months.
2. Services. Contractor shall provide design services as described in each statement of work.
3. Termination. Either party may terminate this agreement with thirty days' written notice.
Signatures of both parties follow.`;

/** A fillable vendor-registration form: text fields, a checkbox and a dropdown. */
async function formPdf(): Promise<Uint8Array<ArrayBuffer>> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([612, 792]);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  page.drawText("Vendor registration", { x: 56, y: 740, size: 18, font: bold });
  const form = pdf.getForm();
  let y = 690;
  for (const [name, label] of [
    ["vendor_name", "Vendor name"],
    ["invoice_reference", "First invoice number"],
    ["invoice_total", "First invoice total"],
  ] as const) {
    page.drawText(label, { x: 56, y: y + 4, size: 11, font: regular });
    form.createTextField(name).addToPage(page, { x: 220, y, width: 300, height: 20 });
    y -= 40;
  }
  page.drawText("Currency", { x: 56, y: y + 4, size: 11, font: regular });
  const currency = form.createDropdown("currency");
  currency.addOptions(["USD", "EUR", "GBP"]);
  currency.addToPage(page, { x: 220, y, width: 100, height: 20 });
  y -= 40;
  page.drawText("Terms accepted", { x: 56, y: y + 4, size: 11, font: regular });
  form.createCheckBox("terms_accepted").addToPage(page, { x: 220, y, width: 16, height: 16 });
  return new Uint8Array(await pdf.save());
}

/**
 * Three invoices as PDFs (three currencies, three date formats, one with its totals on
 * page 2), a receipt and a contract as text, and a fillable form.
 */
export async function sampleDocuments(): Promise<{
  documents: SampleDocument[];
  form: SampleDocument;
}> {
  const invoices = await Promise.all(INVOICES.map(invoicePdf));
  const text = (name: string, body: string) => ({
    name,
    bytes: new TextEncoder().encode(body),
    type: "text/plain",
  });
  return {
    documents: [
      ...invoices.map((bytes, i) => ({
        name: `invoice-${INVOICES[i]?.number}.pdf`,
        bytes,
        type: "application/pdf",
      })),
      text("receipt-55821.txt", RECEIPT),
      text("services-agreement.txt", CONTRACT),
    ],
    form: { name: "vendor-registration.pdf", bytes: await formPdf(), type: "application/pdf" },
  };
}
