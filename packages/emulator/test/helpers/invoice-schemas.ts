/**
 * Invoice extraction configs written the way different users write them: the seeded one
 * with the usual field names, and several whose keys mean nothing and whose descriptions,
 * titles or enclosing objects say what each field is. Each maps its output back to the five
 * fields the invoice corpus labels, so one scorer grades them all. No vitest imports: the
 * benchmark reads these too.
 */

/** The five values the invoice corpus labels, as one config answered them. */
export interface Answer {
  number: unknown;
  date: unknown;
  total: unknown;
  currency: unknown;
  issuer: unknown;
}

/** A config to create as a processor, and how to read its output. */
export interface InvoiceConfig {
  /** Short name for tables. */
  name: string;
  /** Who this stands for. */
  about: string;
  /** The processor's `config` (type EXTRACT). */
  config: Record<string, unknown>;
  /** Reads the five corpus fields from a run's output. */
  answer(output: any): Answer;
}

const text = (description: string, extra: Record<string, unknown> = {}) => ({
  type: ["string", "null"],
  description,
  ...extra,
});
const date = (description: string) => text(description, { "extend:type": "date" });
/** A currency field (`extend:type: currency`) with its two properties declared. */
export const money = (description: string, extra: Record<string, unknown> = {}) => ({
  type: "object",
  "extend:type": "currency",
  description,
  properties: {
    amount: { type: ["number", "null"] },
    iso_4217_currency_code: { type: ["string", "null"] },
  },
  required: ["amount", "iso_4217_currency_code"],
  ...extra,
});

/** The seeded `dp_invoice_extractor`: the usual names (`invoice_number`, `total`, …). */
export const USUAL: InvoiceConfig = {
  name: "usual names",
  about: "the seeded dp_invoice_extractor: invoice_number, invoice_date, total, vendor_name",
  config: {},
  answer: (o) => ({
    number: o.value?.invoice_number,
    date: o.value?.invoice_date,
    total: o.value?.total?.amount,
    currency: o.value?.total?.iso_4217_currency_code,
    issuer: o.value?.vendor_name,
  }),
};

/** Configs whose keys name nothing: the description, title or parent object says it all. */
export const OPAQUE: InvoiceConfig[] = [
  {
    name: "opaque keys, descriptions",
    about: "the issue's example: reference_no, billed_on, grand_amt, issuer_org",
    config: {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: {
          reference_no: text(
            "The invoice number (invoice no., invoice #, bill number) printed on the document",
          ),
          billed_on: date("Date the invoice was issued"),
          grand_amt: money("The total amount due, including any tax"),
          issuer_org: text("Name of the company that issued the invoice (the seller)"),
        },
        required: ["reference_no", "billed_on", "grand_amt", "issuer_org"],
      },
    },
    answer: (o) => ({
      number: o.value?.reference_no,
      date: o.value?.billed_on,
      total: o.value?.grand_amt?.amount,
      currency: o.value?.grand_amt?.iso_4217_currency_code,
      issuer: o.value?.issuer_org,
    }),
  },
  {
    name: "codes f1–f5",
    about: "a team that numbers its fields and explains them in full sentences",
    config: {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: {
          f1: text("Unique number the seller assigned to this bill."),
          f2: date("The day this document was created or sent to the customer."),
          f3: { type: ["number", "null"], description: "Final sum the buyer has to pay." },
          f4: text("Three-letter ISO 4217 code of the currency the amounts are in."),
          f5: text("Business that sent this bill and asks to be paid."),
        },
        required: ["f1", "f2", "f3", "f4", "f5"],
      },
    },
    answer: (o) => ({
      number: o.value?.f1,
      date: o.value?.f2,
      total: o.value?.f3,
      currency: o.value?.f4,
      issuer: o.value?.f5,
    }),
  },
  {
    name: "nested objects",
    about:
      "generic keys inside objects that name them: doc.id, doc.issued, seller.name, amounts.payable",
    config: {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: {
          doc: {
            type: "object",
            description: "The invoice itself",
            properties: {
              id: text("Its identifier"),
              issued: date("When it was issued"),
            },
            required: ["id", "issued"],
          },
          seller: {
            type: "object",
            properties: { name: text("Legal name") },
            required: ["name"],
          },
          amounts: {
            type: "object",
            properties: { payable: money("What is left to pay") },
            required: ["payable"],
          },
        },
        required: ["doc", "seller", "amounts"],
      },
    },
    answer: (o) => ({
      number: o.value?.doc?.id,
      date: o.value?.doc?.issued,
      total: o.value?.amounts?.payable?.amount,
      currency: o.value?.amounts?.payable?.iso_4217_currency_code,
      issuer: o.value?.seller?.name,
    }),
  },
  {
    name: "titles and an enum",
    about: "a form builder that writes titles, not descriptions, and a currency enum",
    config: {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: {
          a1: { type: ["string", "null"], title: "Invoice No." },
          a2: { type: ["string", "null"], title: "Issue date", "extend:type": "date" },
          a3: { type: ["number", "null"], title: "Amount due" },
          a4: {
            type: ["string", "null"],
            title: "Currency",
            enum: ["USD", "EUR", "GBP", "INR", "PLN", "CHF", null],
          },
          a5: { type: ["string", "null"], title: "Supplier" },
        },
        required: ["a1", "a2", "a3", "a4", "a5"],
      },
    },
    answer: (o) => ({
      number: o.value?.a1,
      date: o.value?.a2,
      total: o.value?.a3,
      currency: o.value?.a4,
      issuer: o.value?.a5,
    }),
  },
  {
    name: "legacy fields",
    about: "a `fields` config with opaque names, typed date and currency",
    config: {
      type: "EXTRACT",
      fields: [
        { id: "x1", name: "ref", type: "string", description: "Invoice number" },
        { id: "x2", name: "when", type: "date", description: "Date of issue of the invoice" },
        { id: "x3", name: "sum", type: "currency", description: "Grand total of the invoice" },
        {
          id: "x4",
          name: "from",
          type: "string",
          description: "Who the invoice is from (the supplier's company name)",
        },
      ],
    },
    answer: (o) => {
      const total = o.x3?.value as { amount?: unknown; iso_4217_currency_code?: unknown } | null;
      return {
        number: o.x1?.value,
        date: o.x2?.value,
        total: total?.amount,
        currency: total?.iso_4217_currency_code,
        issuer: o.x4?.value,
      };
    },
  },
];
