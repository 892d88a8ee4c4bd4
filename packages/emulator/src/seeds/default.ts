import type { SeedDocument } from "../seed.js";

const nullable = (type: string, description: string) => ({ type: [type, "null"], description });
const currency = (description: string) => ({
  type: "object",
  "extend:type": "currency",
  description,
  properties: {
    amount: { type: ["number", "null"] },
    iso_4217_currency_code: { type: ["string", "null"] },
  },
  required: ["amount", "iso_4217_currency_code"],
});

/**
 * The default seed: an invoice workflow (parse → classify → extract → validate) with its
 * two processors, and the same workflow with a human-review step.
 */
export const DEFAULT_SEED: SeedDocument = {
  processors: [
    {
      id: "dp_document_classifier",
      name: "Document type classifier",
      type: "CLASSIFY",
      config: {
        type: "CLASSIFY",
        classifications: [
          {
            id: "invoice",
            type: "invoice",
            description:
              "A bill from a vendor with an invoice number, line items, amounts, tax and a total due",
          },
          {
            id: "receipt",
            type: "receipt",
            description: "Proof of a purchase already paid at a store, with items and a paid total",
          },
          {
            id: "purchase_order",
            type: "purchase_order",
            description:
              "A buyer's order to a supplier with a purchase order number, items and quantities",
          },
          {
            id: "contract",
            type: "contract",
            description:
              "An agreement between parties with terms, clauses, effective date and signatures",
          },
          { id: "other", type: "other", description: "Any other document" },
        ],
      },
    },
    {
      id: "dp_invoice_extractor",
      name: "Invoice fields",
      type: "EXTRACT",
      config: {
        type: "EXTRACT",
        schema: {
          type: "object",
          properties: {
            invoice_number: nullable("string", "The invoice number"),
            invoice_date: {
              ...nullable("string", "Date the invoice was issued"),
              "extend:type": "date",
            },
            due_date: { ...nullable("string", "Date payment is due"), "extend:type": "date" },
            vendor_name: nullable("string", "Name of the vendor who issued the invoice"),
            customer_name: nullable("string", "Name of the customer billed"),
            purchase_order_number: nullable("string", "Purchase order number"),
            subtotal: currency("Total before tax"),
            tax: currency("Tax amount"),
            total: currency("Total amount due"),
            line_items: {
              type: "array",
              description: "Items billed",
              items: {
                type: "object",
                properties: {
                  description: nullable("string", "What was billed"),
                  quantity: nullable("number", "How many"),
                  unit_price: nullable("number", "Price of one"),
                  amount: nullable("number", "Line total"),
                },
              },
            },
          },
          required: ["invoice_number", "invoice_date", "total"],
        },
        advancedOptions: { citationsEnabled: true },
      },
    },
  ],
  workflows: [
    {
      id: "workflow_invoices",
      name: "Invoice processing",
      steps: [
        { type: "PARSE", name: "Parse document" },
        { type: "CLASSIFY", name: "Classify document", processorId: "dp_document_classifier" },
        { type: "EXTRACT", name: "Extract invoice fields", processorId: "dp_invoice_extractor" },
        {
          type: "RULE_VALIDATION",
          name: "Check required fields",
          rules: [
            { name: "Invoice number is present", field: "invoice_number", check: "present" },
            { name: "Total is positive", field: "total.amount", check: "positive" },
          ],
        },
      ],
    },
    {
      id: "workflow_invoices_review",
      name: "Invoice processing with review",
      steps: [
        { type: "PARSE", name: "Parse document" },
        { type: "EXTRACT", name: "Extract invoice fields", processorId: "dp_invoice_extractor" },
        { type: "HUMAN_REVIEW", name: "Review" },
      ],
    },
  ],
};
