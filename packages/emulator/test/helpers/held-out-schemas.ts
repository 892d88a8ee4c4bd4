/**
 * Held-out invoice configs: written blind (without reading the extraction code or the other
 * test schemas), after the extractor was finished, and never used to change it. Each stands
 * for a team the developers have never met; keys do not name the fields in plain English,
 * so only descriptions, titles and enclosing objects say what each field is.
 */
import type { InvoiceConfig } from "./invoice-schemas.js";

const str = (description: string) => ({ type: ["string", "null"], description });
const num = (description: string) => ({ type: ["number", "null"], description });
const day = (description: string) => ({
  type: ["string", "null"],
  "extend:type": "date",
  description,
});
const money = (title: string, description: string) => ({
  type: "object",
  "extend:type": "currency",
  title,
  description,
  properties: {
    amount: { type: ["number", "null"] },
    iso_4217_currency_code: { type: ["string", "null"] },
  },
  required: ["amount", "iso_4217_currency_code"],
});

export const HELD_OUT: InvoiceConfig[] = [
  {
    name: "proc-codes-in",
    about:
      "Procurement analytics team in India: flat field codes A01..A11, terse technical descriptions, amount and currency code as separate fields",
    config: {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: {
          A01: str("Invoice no. / bill no. exactly as printed on the document header"),
          A02: day("Invoice issue date (date of bill), ISO yyyy-mm-dd"),
          A03: str("Supplier legal/trade name (party raising the bill), not the buyer"),
          A04: str("Supplier GSTIN or other tax registration no., if shown"),
          A05: str("Buyer / bill-to party name"),
          A06: str("PO number referenced on the invoice, if any"),
          A07: num("Taxable value before GST/VAT"),
          A08: num("Total tax amount (GST/CGST+SGST/IGST/VAT), sum of all tax lines"),
          A09: num("Grand total payable / amount due, incl. taxes, as a plain number"),
          A10: str("ISO 4217 3-letter code of the currency of A09, e.g. INR, USD, EUR"),
          A11: day("Payment due date, ISO yyyy-mm-dd"),
        },
        required: ["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A09", "A10", "A11"],
      },
    },
    answer: (o) => ({
      number: o?.value?.A01,
      date: o?.value?.A02,
      total: o?.value?.A09,
      currency: o?.value?.A10,
      issuer: o?.value?.A03,
    }),
  },
  {
    name: "cabinet-fr",
    about:
      "Developer at a French accounting firm: English descriptions with French terms, fields nested under entete / emetteur / destinataire / montants, amounts as currency objects",
    config: {
      type: "EXTRACT",
      schema: {
        type: "object",
        properties: {
          entete: {
            type: "object",
            title: "En-tête",
            description: "Header block of the facture",
            properties: {
              ref: str("Numéro de facture: the invoice reference printed in the header"),
              dt: day("Date de facturation: the date the invoice was issued"),
              ech: day("Date d'échéance: when payment is due"),
            },
            required: ["ref", "dt", "ech"],
          },
          emetteur: {
            type: "object",
            title: "Émetteur",
            description: "The company that issued the invoice (le fournisseur)",
            properties: {
              rs: str("Raison sociale: legal name of the issuing company"),
              siret: str("SIRET or intra-EU VAT number (n° TVA intracommunautaire) of the issuer"),
            },
            required: ["rs", "siret"],
          },
          destinataire: {
            type: "object",
            title: "Destinataire",
            description: "The client being billed",
            properties: {
              rs: str("Raison sociale or name of the client"),
            },
            required: ["rs"],
          },
          montants: {
            type: "object",
            title: "Montants",
            description: "Amounts of the facture",
            properties: {
              ht: money("Total HT", "Total hors taxes: amount before VAT"),
              tva: money("TVA", "Montant de TVA: total VAT charged"),
              ttc: money(
                "Net à payer",
                "Total TTC / net à payer: the final amount due including VAT, with its currency",
              ),
            },
            required: ["ht", "tva", "ttc"],
          },
        },
        required: ["entete", "emetteur", "destinataire", "montants"],
      },
    },
    answer: (o) => ({
      number: o?.value?.entete?.ref,
      date: o?.value?.entete?.dt,
      total: o?.value?.montants?.ttc?.amount,
      currency: o?.value?.montants?.ttc?.iso_4217_currency_code,
      issuer: o?.value?.emetteur?.rs,
    }),
  },
];
