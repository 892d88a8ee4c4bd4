/**
 * Extraction reads a schema the way a person does: descriptions, titles, `extend:type`,
 * enums and the objects fields sit in; and it settles a document's day/month order from all
 * its dates. Unit cases run the extractor on laid-out text; the last ones go through the
 * emulator over HTTP with the processor options that change what is looked for.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { extractFields, extractJson, selectPages } from "../src/processors/extract.js";
import { readField, synonymsIn } from "../src/processors/intent.js";
import { textLayout } from "../src/processors/layout.js";
import { sampleInvoicePdf } from "../src/sample.js";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

const nullable = (type: string, description?: string, extra: Record<string, unknown> = {}) => ({
  type: [type, "null"],
  ...(description ? { description } : {}),
  ...extra,
});

describe("readField: what a field is, from what its schema says", () => {
  test("the issue's opaque keys are read from their descriptions", () => {
    const number = readField(
      "reference_no",
      nullable(
        "string",
        "The invoice number (invoice no., invoice #, bill number) printed on the document",
      ),
    );
    expect(number.concepts[0]).toBe("invoice_number");
    expect(number.kind).toBe("identifier");
    expect(number.source).toBe("description");
    // The synonyms it gives come first, then the vocabulary, and the opaque key last.
    expect(number.labels.slice(0, 3)).toEqual(["invoice no", "invoice #", "bill number"]);
    expect(number.labels.at(-1)).not.toBe("invoice no");
    expect(number.labels.indexOf("reference no")).toBeGreaterThan(
      number.labels.indexOf("invoice number"),
    );

    const date = readField(
      "billed_on",
      nullable("string", "Date the invoice was issued", { "extend:type": "date" }),
    );
    expect(date).toMatchObject({ concepts: ["invoice_date"], kind: "date", source: "description" });
  });

  test.each([
    ["Total before tax", "subtotal"],
    ["Total amount due, including VAT", "total"],
    ["The total tax charged", "tax"],
    ["Final sum the buyer has to pay.", "total"],
    ["What is left to pay", "total"],
    ["Sales tax, if any", "tax"],
  ])("a number described as %j is the %s", (description, concept) => {
    expect(readField("x9", nullable("number", description)).concepts[0]).toBe(concept);
    expect(readField("x9", nullable("number", description)).kind).toBe("amount");
  });

  test.each([
    ["Date payment is due", "due_date"],
    ["The day this document was created or sent to the customer.", "invoice_date"],
    ["Due date of the invoice", "due_date"],
  ])("a date described as %j is the %s", (description, concept) => {
    expect(
      readField("d", nullable("string", description, { "extend:type": "date" })).concepts[0],
    ).toBe(concept);
  });

  test("a plain string described as a date or an invoice number is read as one", () => {
    expect(readField("c3", nullable("string", "When the invoice was issued")).kind).toBe("date");
    expect(
      readField("c4", nullable("string", "Unique number the seller assigned to this bill.")).kind,
    ).toBe("identifier");
    // A string that names no concept stays a string.
    expect(readField("c5", nullable("string", "Any note printed at the bottom"))).toMatchObject({
      concepts: [],
      kind: "string",
    });
  });

  test("words that merely end like a keyword name nothing: the invoice was paid, is valid", () => {
    for (const description of ["When the invoice was paid", "How long the invoice is valid"])
      expect(readField("k", nullable("string", description)).concepts).not.toContain(
        "invoice_number",
      );
  });

  test.each([
    ["Email of the vendor", "string"],
    ["Supplier VAT ID", "string"],
    ["Customer phone number", "string"],
    ["Discount applied to the invoice total", "number"],
    ['Payment terms (for example "Net 30" or "Due on receipt")', "string"],
  ])("what a party or document has is not the party: %j names no concept", (description, type) => {
    expect(readField("k1", nullable(type, description)).concepts).toEqual([]);
  });

  test("an attribute in the key is not the party either: vendor_address is no vendor name", () => {
    expect(readField("vendor_address", nullable("string")).concepts).toEqual([]);
    expect(readField("vendor_name", nullable("string")).concepts).toEqual(["vendor"]);
  });

  test("a description of a million spaces is read in a moment, not quadratically", () => {
    // Measured, not timed: the cost is bounded by reading at most 2,000 characters.
    const intent = readField("k", nullable("string", `${" ".repeat(1_000_000)}Invoice number`));
    expect(intent.concepts).toEqual([]);
  });

  test("a title or extend:name says it as well as a description", () => {
    expect(readField("a1", { type: ["string", "null"], title: "Invoice No." }).concepts[0]).toBe(
      "invoice_number",
    );
    expect(readField("a5", { type: ["string", "null"], title: "Supplier" })).toMatchObject({
      concepts: ["vendor"],
      source: "title",
    });
    expect(readField("z", { type: ["string", "null"], "extend:name": "Bill to" }).labels[0]).toBe(
      "bill to",
    );
  });

  test("a generic key takes its meaning from the object it sits in", () => {
    expect(
      readField("name", nullable("string"), [{ key: "seller", field: { type: "object" } }]),
    ).toMatchObject({
      concepts: ["vendor"],
      source: "object",
    });
    expect(
      readField("number", nullable("string"), [{ key: "invoice", field: { type: "object" } }])
        .concepts,
    ).toEqual(["invoice_number"]);
    expect(
      readField("id", nullable("string", "Its identifier"), [
        { key: "doc", field: { type: "object", description: "The invoice itself" } },
      ]).concepts,
    ).toEqual(["invoice_number"]);
    // Outside an object, "name" means nothing in particular.
    expect(readField("name", nullable("string")).concepts).toEqual([]);
  });

  test("synonymsIn finds the labels a description quotes, lists or names", () => {
    // Listed in parentheses (after "e.g."), then quoted.
    expect(synonymsIn('Printed next to "Rechnungsnr." (e.g. Rechnung Nr, Beleg-Nr)')).toEqual([
      "rechnung nr",
      "beleg-nr",
      "rechnungsnr",
    ]);
    expect(synonymsIn("Labelled Bill ID, sometimes Ref.")).toEqual(["bill id"]);
    // Apostrophes are not quotes.
    expect(synonymsIn("The supplier's number, as it's printed ('Inv. Ref')")).toEqual(["inv. ref"]);
    expect(synonymsIn(undefined)).toEqual([]);
  });
});

/** A document from text lines: two or more spaces separate cells, a form feed starts a page. */
const doc = (...lines: string[]) => textLayout(lines.join("\n"));

describe("extractJson: finding what the schema describes", () => {
  const invoice = doc(
    "Brightwater Plumbing Ltd",
    "12 Harbour Road, Leeds",
    "",
    "Invoice no: BW-7781",
    "Invoice Date: 03/02/2025",
    "Due Date: 04/01/2025",
    "",
    "Description          Qty     Unit price     Amount",
    "Boiler service        1       £120.00        £120.00",
    "Valve replacement     2       £35.50         £71.00",
    "",
    "Subtotal: £191.00",
    "VAT: £38.20",
    "Total due: £229.20",
  );

  test("opaque keys get values from descriptions, with citations and an explanation", () => {
    const out = extractJson(
      invoice,
      {
        type: "object",
        properties: {
          reference_no: nullable(
            "string",
            "The invoice number (invoice no., invoice #, bill number) printed on the document",
          ),
          billed_on: nullable("string", "Date the invoice was issued", { "extend:type": "date" }),
          k7: { type: "object", "extend:type": "currency", description: "Amount before tax" },
          k8: nullable("number", "Tax charged"),
          k9: nullable("string", "Name of the company that issued the invoice"),
        },
      },
      { insights: true },
    );
    expect(out.value).toEqual({
      reference_no: "BW-7781",
      billed_on: "2025-03-02",
      k7: { amount: 191, iso_4217_currency_code: "GBP" },
      k8: 38.2,
      k9: "Brightwater Plumbing Ltd",
    });
    expect(out.metadata.reference_no?.citations?.[0]?.referenceText).toBe("Invoice no: BW-7781");
    expect(out.metadata.reference_no?.insights?.[0]?.content).toMatch(
      /Read next to "invoice no" on page 1; the field's description names the invoice number/,
    );
    expect(out.metadata.k9?.insights?.[0]?.content).toMatch(/letterhead/);
  });

  test("day/month order comes from all the dates: a pound invoice due a month after 03/02/2025 is month first", () => {
    // By its currency alone this document would be day first, putting the due date (4 Jan)
    // a month before the invoice date (3 Feb).
    const out = extractJson(invoice, {
      type: "object",
      properties: {
        invoice_date: nullable("string", undefined, { "extend:type": "date" }),
        due_date: nullable("string", undefined, { "extend:type": "date" }),
      },
    });
    expect(out.value).toEqual({ invoice_date: "2025-03-02", due_date: "2025-04-01" });
  });

  test("a dollar invoice whose dates only make sense day first is read day first", () => {
    const out = extractJson(
      doc("Invoice Date: 05/03/2025", "Due Date: 04/04/2025", "Total: $10.00"),
      {
        type: "object",
        properties: {
          invoice_date: nullable("string", undefined, { "extend:type": "date" }),
          due_date: nullable("string", undefined, { "extend:type": "date" }),
        },
      },
    );
    expect(out.value).toEqual({ invoice_date: "2025-03-05", due_date: "2025-04-04" });
  });

  test("one unambiguous date settles the order for the others; extraction rules can settle it too", () => {
    const schema = {
      type: "object",
      properties: { invoice_date: nullable("string", undefined, { "extend:type": "date" }) },
    };
    expect(
      extractJson(doc("Invoice Date: 03/02/2025", "Paid on 25/02/2025", "Total: $5.00"), schema)
        .value,
    ).toEqual({
      invoice_date: "2025-02-03",
    });
    expect(extractJson(doc("Invoice Date: 03/02/2025", "Total: $5.00"), schema).value).toEqual({
      invoice_date: "2025-03-02",
    });
    expect(
      extractJson(doc("Invoice Date: 03/02/2025", "Total: $5.00"), schema, {
        rules: "All dates on these documents are day first.",
      }).value,
    ).toEqual({ invoice_date: "2025-02-03" });
  });

  test("rules about the answer's format or what dates are not leave the order to the document", () => {
    const schema = {
      type: "object",
      properties: { invoice_date: nullable("string", undefined, { "extend:type": "date" }) },
    };
    const uk = doc("Invoice Date: 03/04/2025", "Total: £5.00");
    expect(extractJson(uk, schema).value).toEqual({ invoice_date: "2025-04-03" });
    expect(extractJson(uk, schema, { rules: "Return all dates as YYYY-MM-DD." }).value).toEqual({
      invoice_date: "2025-04-03",
    });
    expect(
      extractJson(uk, schema, { rules: "Our suppliers' dates are not day first." }).value,
    ).toEqual({
      invoice_date: "2025-04-03",
    });
    // A date that can only be day first outweighs the rules.
    const dated = doc("Invoice Date: 03/04/2025", "Delivered 25/03/2025", "Total: $5.00");
    expect(extractJson(dated, schema, { rules: "US dates, month first" }).value).toEqual({
      invoice_date: "2025-04-03",
    });
  });

  test("a date field with no label word gets the issue date when its description says so, and only then", () => {
    const page = doc("Harbour Books", "Receipt 2231", "14 March 2025", "Total: €12.50");
    const out = extractJson(page, {
      type: "object",
      properties: {
        q1: nullable("string", "Date the invoice was issued", { "extend:type": "date" }),
        q2: nullable("string", "Date the goods were delivered", { "extend:type": "date" }),
      },
    });
    expect(out.value).toEqual({ q1: "2025-03-14", q2: null });
    expect(out.metadata.q1?.logprobsConfidence).toBeLessThan(0.6);
  });

  test("enums: the option the text next to the label names, an option's description, or the document's currency", () => {
    const page = doc("Invoice 88", "Status: Settled in full", "Total: 40.00 EUR");
    const out = extractJson(page, {
      type: "object",
      properties: {
        state: nullable("string", "PAID (settled, paid in full); OPEN: money is still owed", {
          enum: ["PAID", "OPEN", null],
        }),
        ccy: nullable("string", "Currency of the invoice", { enum: ["USD", "EUR", "GBP", null] }),
      },
    });
    expect(out.value).toEqual({ state: "PAID", ccy: "EUR" });
    const legacy = extractFields(page, [
      {
        id: "s",
        name: "status",
        type: "enum",
        description: "Payment status",
        enum: [
          { value: "open", description: "Money is still owed" },
          { value: "closed", description: "Settled in full" },
        ],
      },
    ]);
    expect(legacy.s?.value).toBe("closed");
  });

  test("line items with opaque keys are read from their descriptions", () => {
    const out = extractJson(invoice, {
      type: "object",
      properties: {
        rows: {
          type: "array",
          items: {
            type: "object",
            properties: {
              c1: nullable("string", "What was bought"),
              c2: nullable("number", "How many"),
              c3: nullable("number", "Amount for the line (quantity × unit price)"),
            },
          },
        },
      },
    });
    expect(out.value.rows).toEqual([
      { c1: "Boiler service", c2: 1, c3: 120 },
      { c1: "Valve replacement", c2: 2, c3: 71 },
    ]);
  });

  test("extraction_light reads labelled values only, at lower confidence", () => {
    const schema = {
      type: "object",
      properties: {
        vendor_name: nullable("string"),
        invoice_number: nullable("string"),
      },
    };
    const full = extractJson(invoice, schema);
    const light = extractJson(invoice, schema, { light: true });
    expect(full.value).toEqual({
      vendor_name: "Brightwater Plumbing Ltd",
      invoice_number: "BW-7781",
    });
    expect(light.value).toEqual({ vendor_name: null, invoice_number: "BW-7781" });
    expect(light.metadata.invoice_number?.logprobsConfidence).toBeLessThan(
      full.metadata.invoice_number?.logprobsConfidence as number,
    );
  });

  test("citations can be off, or given per property of each item", () => {
    const schema = {
      type: "object",
      properties: {
        invoice_number: nullable("string"),
        line_items: {
          type: "array",
          items: {
            type: "object",
            properties: { description: nullable("string"), amount: nullable("number") },
          },
        },
      },
    };
    const none = extractJson(invoice, schema, { citations: false });
    expect(none.metadata.invoice_number).toEqual({ logprobsConfidence: 0.95 });
    const byProperty = extractJson(invoice, schema, { arrayCitations: "property" });
    expect(Object.keys(byProperty.metadata).sort()).toEqual([
      "invoice_number",
      "line_items[0].amount",
      "line_items[0].description",
      "line_items[1].amount",
      "line_items[1].description",
    ]);
  });

  test("pageRanges narrow the pages looked at, keeping their numbers", () => {
    const twoPages = textLayout("Cover letter\nInvoice no: A-1\fInvoice no: B-2");
    const second = selectPages(twoPages, [{ start: 2 }]);
    expect(second.pages.map((p) => p.number)).toEqual([2]);
    const out = extractJson(second, {
      type: "object",
      properties: { invoice_number: nullable("string") },
    });
    expect(out.value.invoice_number).toBe("B-2");
    expect(out.metadata.invoice_number?.citations?.[0]?.page).toBe(2);
  });
});

describe("processor options over HTTP", () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(() => t?.close());

  test("an opaque-named schema on the sample invoice, through a created processor", async () => {
    const sample = await sampleInvoicePdf();
    const file = await t.upload("sample.pdf", sample.bytes);
    const { data: created, error } = await t.client.POST("/processors", {
      body: {
        name: "Opaque names",
        type: "EXTRACT",
        config: {
          type: "EXTRACT",
          baseProcessor: "extraction_light",
          schema: {
            type: "object",
            properties: {
              p1: nullable("string", "Invoice number as printed"),
              p2: nullable("string", "When the invoice was issued", { "extend:type": "date" }),
              p3: nullable("string", "When payment is due", { "extend:type": "date" }),
              p4: nullable("string", "Who is billed (the customer)"),
              p5: {
                type: "object",
                "extend:type": "currency",
                description: "Grand total to pay",
                properties: {
                  amount: nullable("number"),
                  iso_4217_currency_code: nullable("string"),
                },
                required: ["amount", "iso_4217_currency_code"],
              },
            },
            required: ["p1", "p2", "p3", "p4", "p5"],
          },
          advancedOptions: { citationsEnabled: false },
        } as never,
      },
    });
    expect(error).toBeUndefined();
    const { data } = await t.client.POST("/processor_runs", {
      body: { processorId: created!.processor.id, file: { fileId: file.id }, sync: true },
    });
    const output = data?.processorRun.output as {
      value: Record<string, unknown>;
      metadata: Record<string, any>;
    };
    expect(output.value).toEqual({
      p1: sample.values.invoice_number,
      p2: sample.values.invoice_date,
      p3: sample.values.due_date,
      p4: sample.values.customer_name,
      p5: sample.values.total,
    });
    expect(output.metadata.p1.citations).toBeUndefined();
  });
});
