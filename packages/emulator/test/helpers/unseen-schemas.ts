/**
 * Invoice extraction configs standing for users the developers have never met. They were
 * written WITHOUT reading the extractor's code (nothing under src/ was opened), from the
 * public shape of an EXTRACT config only, the way three different teams plausibly would:
 * keys come from somewhere else (database columns, generic nested names, generated ids), and
 * only descriptions and titles say what each field is. Do not tune these to the extractor;
 * if one scores badly, that is the finding.
 */
import { type InvoiceConfig, money } from "./invoice-schemas.js";

const str = (description: string) => ({ type: ["string", "null"], description });
const num = (description: string) => ({ type: ["number", "null"], description });

export const UNSEEN: InvoiceConfig[] = [
  {
    name: "erp-columns",
    about:
      "An accounts-payable team loading a legacy ERP staging table whose columns are codes; flat, verbose descriptions",
    config: {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: {
          col_02: str(
            "Legal name of the company that sent us this invoice and expects to be paid (the supplier). Usually printed in the letterhead or logo area at the top, or next to the bank details / VAT registration in the footer. Do not use our own company name, which appears in the 'Bill to' or 'Invoice to' block.",
          ),
          col_05: str(
            "The supplier's reference number for this document, exactly as printed, including any letters, dashes or slashes. It is often labelled 'Invoice No.', 'Invoice #', 'Inv. Ref', 'Document number' or 'Bill number'. Not the purchase order number, not the customer/account number.",
          ),
          col_06: {
            type: ["string", "null"],
            "extend:type": "date",
            description:
              "The date the invoice was issued (labelled 'Invoice date', 'Date of issue', 'Billing date' or just 'Date'). Not the due date, not the delivery/service date.",
          },
          col_07: str(
            "Purchase order number we gave the supplier, if the invoice quotes one (labels: 'PO', 'PO number', 'Your order ref'). Leave empty if absent.",
          ),
          col_09: money(
            "The final amount payable on this invoice, including tax, after any discounts: the figure labelled 'Total', 'Total due', 'Amount due', 'Balance due' or 'Grand total'. Record the amount as a plain number and the currency as its three-letter ISO 4217 code (e.g. EUR, USD, GBP), inferring it from the currency symbol if no code is printed.",
          ),
          col_10: num(
            "Total tax (VAT / GST / sales tax) charged on the invoice, as a number. Empty if no tax is shown.",
          ),
          col_13: {
            type: ["string", "null"],
            "extend:type": "date",
            description: "Payment due date, if printed ('Due date', 'Pay by').",
          },
        },
        required: ["col_02", "col_05", "col_06", "col_07", "col_09", "col_10", "col_13"],
      },
    },
    answer: (o) => ({
      number: o?.value?.col_05,
      date: o?.value?.col_06,
      total: o?.value?.col_09?.amount,
      currency: o?.value?.col_09?.iso_4217_currency_code,
      issuer: o?.value?.col_02,
    }),
  },
  {
    name: "nested-generic",
    about:
      "A small European startup's integration: nested objects with generic short keys, line items, descriptions in non-native English",
    config: {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: {
          hdr: {
            type: "object",
            description: "General informations of the document, on the top of first page.",
            properties: {
              ref: str(
                "Number of the invoice as it is written on the document (for example 'Rechnung Nr.', 'Factura nº', 'Invoice no.'). Take it complete with letters and symbols.",
              ),
              dt: {
                type: ["string", "null"],
                "extend:type": "date",
                description: "Day on which the invoice was made out (emission date).",
              },
              kind: {
                type: ["string", "null"],
                enum: ["invoice", "credit_note", "proforma", null],
                description: "Which kind of document is this.",
              },
            },
            required: ["ref", "dt", "kind"],
          },
          party_a: {
            type: "object",
            description: "The company who makes the invoice and receives the money.",
            properties: {
              nm: str("Name of the company, like in the header or in the legal mentions."),
              tax_id: str("VAT number or tax id of this company if it is present."),
              addr: str("Full postal address of this company, in one line."),
            },
            required: ["nm", "tax_id", "addr"],
          },
          party_b: {
            type: "object",
            description: "The customer, to who the invoice is addressed.",
            properties: {
              nm: str("Name of the customer."),
            },
            required: ["nm"],
          },
          pos: {
            type: "array",
            description: "The positions (lines) of the invoice, one element for each line.",
            items: {
              type: "object",
              properties: {
                txt: str("Text of the position, what was sold."),
                qty: num("Quantity."),
                up: num("Price for one unit."),
                amt: num("Amount of the line."),
              },
              required: ["txt", "qty", "up", "amt"],
            },
          },
          sums: {
            type: "object",
            description: "The amounts at the end of the invoice.",
            properties: {
              net: num("Sum without taxes."),
              tax: num("Sum of the taxes."),
              gross: money(
                "The amount to pay in total, with taxes included (the last and biggest sum, 'Total', 'Gesamtbetrag', 'Total a pagar'). The currency as code of 3 letters.",
              ),
            },
            required: ["net", "tax", "gross"],
          },
        },
        required: ["hdr", "party_a", "party_b", "pos", "sums"],
      },
    },
    answer: (o) => ({
      number: o?.value?.hdr?.ref,
      date: o?.value?.hdr?.dt,
      total: o?.value?.sums?.gross?.amount,
      currency: o?.value?.sums?.gross?.iso_4217_currency_code,
      issuer: o?.value?.party_a?.nm,
    }),
  },
  {
    name: "form-builder-ids",
    about:
      "A no-code workflow tool's users: keys are generated ids, the form label is the title, terse descriptions, currency as an enum",
    config: {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: {
          "fld-3a9c1e": {
            type: ["string", "null"],
            title: "Invoice #",
          },
          "fld-71b0d4": {
            type: ["string", "null"],
            "extend:type": "date",
            title: "Invoice Date",
            description: "Issue date",
          },
          "fld-c2e85f": {
            type: ["string", "null"],
            title: "Supplier",
            description: "Who the invoice is from",
          },
          "fld-09d6ab": {
            type: ["number", "null"],
            title: "Amount Due",
            description: "Total to pay incl. tax",
          },
          "fld-e4f213": {
            type: ["string", "null"],
            title: "Currency",
            enum: [
              "USD",
              "EUR",
              "GBP",
              "CAD",
              "AUD",
              "CHF",
              "JPY",
              "INR",
              "SEK",
              "NOK",
              "DKK",
              "PLN",
              null,
            ],
          },
          "fld-5b7d90": {
            type: ["string", "null"],
            title: "Notes",
            description: "Anything else worth flagging",
          },
        },
        required: [
          "fld-3a9c1e",
          "fld-71b0d4",
          "fld-c2e85f",
          "fld-09d6ab",
          "fld-e4f213",
          "fld-5b7d90",
        ],
      },
    },
    answer: (o) => ({
      number: o?.value?.["fld-3a9c1e"],
      date: o?.value?.["fld-71b0d4"],
      total: o?.value?.["fld-09d6ab"],
      currency: o?.value?.["fld-e4f213"],
      issuer: o?.value?.["fld-c2e85f"],
    }),
  },
];
