import type { Schemas } from "@extendkit/core";
import type { Cell, DocumentLayout, Line, PageLayout } from "./layout.js";
import { findTables, type Table } from "./tables.js";
import {
  amountsIn,
  currencyCode,
  type DateOrder,
  parseBoolean,
  parseDate,
  parseNumber,
} from "./values.js";

/** The subset of JSON Schema an extraction config uses. */
export interface FieldSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, FieldSchema>;
  items?: FieldSchema;
  enum?: (string | null)[];
  "extend:type"?: string;
  "extend:name"?: string;
}

/** Where a value was read: the line, its page, the label that led to it, and a confidence. */
interface Hit {
  text: string;
  line: Line;
  page: PageLayout;
  label: string;
  confidence: number;
}

/** How the text next to a label is read. */
type Kind = "string" | "identifier" | "date" | "amount" | "number" | "integer" | "boolean";

type FieldMetadata = Schemas["FieldMetadata"];

/** Words in a field's key that make it the issuer's name, or the customer's. */
const VENDOR_WORDS = ["vendor", "supplier", "seller", "issuer", "merchant", "company"];
const CUSTOMER_WORDS = ["customer", "buyer", "client", "bill", "recipient"];

/**
 * Labels documents use for common fields, in several languages, most specific first. A
 * field gets the labels of every concept its key names (a small, general vocabulary:
 * the emulator has no model, only labels and layout).
 */
const CONCEPTS: Array<{ when: (words: string[]) => boolean; labels: string[] }> = [
  {
    when: (w) =>
      w.includes("invoice") && (w.includes("number") || w.includes("no") || w.includes("id")),
    labels: [
      "invoice number",
      "invoice no",
      "invoice #",
      "invoice nr",
      "invoice num",
      "invoice id",
      "n° de facture",
      "numéro de facture",
      "facture n°",
      "facture no",
      "facture n",
      "facture",
      "rechnungsnummer",
      "rechnungsnr",
      "rechnung nr",
      "rechnung",
      "factuurnummer",
      "factuurnr",
      "factuur",
      "número de factura",
      "factura n",
      "numero fattura",
      "fattura n",
      "faktura nr",
      "numer faktury",
      "bill no",
      "bill number",
      "invoice",
    ],
  },
  {
    when: (w) =>
      w.includes("date") &&
      (w.includes("invoice") || w.includes("issue") || w.includes("document")),
    labels: [
      "invoice date",
      "date of invoice",
      "invoice dated",
      "date of issue",
      "issue date",
      "issued on",
      "date issued",
      "date de facture",
      "date de facturation",
      "date d'émission",
      "rechnungsdatum",
      "factuurdatum",
      "fecha de factura",
      "data fattura",
      "data wystawienia",
      "billing date",
      "date",
    ],
  },
  {
    when: (w) => w.includes("due"),
    labels: [
      "due date",
      "payment due",
      "date due",
      "due by",
      "pay by",
      "date limite de paiement",
      "échéance",
      "fälligkeitsdatum",
      "fällig am",
      "zahlungsziel",
      "vervaldatum",
      "fecha de vencimiento",
      "scadenza",
    ],
  },
  {
    when: (w) => w.includes("subtotal") || (w.includes("net") && w.includes("amount")),
    labels: [
      "subtotal",
      "sub total",
      "sub-total",
      "total ht",
      "montant ht",
      "total excl",
      "net amount",
      "net total",
      "zwischensumme",
      "nettobetrag",
      "summe netto",
      "subtotaal",
      "exclusief btw",
      "base imponible",
    ],
  },
  {
    when: (w) => w.includes("total") && !w.includes("subtotal"),
    labels: [
      "total amount due",
      "amount due",
      "balance due",
      "total due",
      "grand total",
      "total ttc",
      "montant ttc",
      "somme à payer",
      "net à payer",
      "total à payer",
      "montant total",
      "gesamtbetrag",
      "rechnungsbetrag",
      "endbetrag",
      "gesamtsumme",
      "te betalen",
      "totaal",
      "total a pagar",
      "importe total",
      "totale",
      "invoice total",
      "total for this invoice",
      "total facture",
      "total incl",
      "total amount",
      "amount paid",
      "total paid",
      "należność ogółem",
      "do zapłaty",
      "razem",
      "total",
    ],
  },
  {
    when: (w) => w.includes("tax") || w.includes("vat") || w.includes("gst"),
    labels: [
      "total tax",
      "tax amount",
      "sales tax",
      "tax",
      "vat",
      "gst",
      "tva",
      "mwst",
      "ust",
      "btw",
      "iva",
    ],
  },
  {
    when: (w) => VENDOR_WORDS.some((x) => w.includes(x)),
    labels: [
      "vendor",
      "supplier",
      "seller",
      "sold by",
      "service provider",
      "issued by",
      "merchant",
      "fournisseur",
      "vendeur",
      "lieferant",
      "verkäufer",
      "leverancier",
      "proveedor",
      "fornitore",
      "sprzedawca",
    ],
  },
  {
    when: (w) => CUSTOMER_WORDS.some((x) => w.includes(x)),
    labels: [
      "bill to",
      "billed to",
      "invoice to",
      "sold to",
      "customer",
      "client",
      "buyer",
      "facturé à",
      "destinataire",
      "rechnungsempfänger",
      "kunde",
      "klant",
      "cliente",
      "nabywca",
    ],
  },
  {
    when: (w) => (w.includes("order") || w.includes("po")) && !w.includes("date"),
    labels: [
      "purchase order number",
      "purchase order",
      "po number",
      "po #",
      "p.o. number",
      "p.o.",
      "order number",
      "order no",
      "order id",
      "bestellnummer",
      "ordernummer",
      "bon de commande",
      "numéro de commande",
    ],
  },
];

function words(key: string) {
  return key
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .toLowerCase()
    .trim()
    .split(/\s+/);
}

/** Label phrases to look for, most specific first. */
export function labelsFor(key: string, field: FieldSchema): string[] {
  const keyWords = words(key);
  const human = keyWords.join(" ");
  const labels = [field["extend:name"]?.toLowerCase(), human];
  if (keyWords.at(-1) === "number")
    labels.push(`${keyWords.slice(0, -1).join(" ")} no`, `${keyWords.slice(0, -1).join(" ")} #`);
  for (const concept of CONCEPTS) if (concept.when(keyWords)) labels.push(...concept.labels);
  const description = field.description
    ?.replace(/^(the|a|an)\s+/i, "")
    .replace(/\.$/, "")
    .toLowerCase();
  if (description && description.split(/\s+/).length <= 4) labels.push(description);
  if (keyWords.at(-1) === "name" && keyWords.length > 1)
    labels.push(keyWords.slice(0, -1).join(" "));
  return [...new Set(labels.filter((l): l is string => Boolean(l?.trim())))];
}

/** How a field's text is read, from its schema type and what its key names. */
function kindOf(key: string, field: FieldSchema): Kind {
  const t = Array.isArray(field.type) ? field.type : field.type ? [field.type] : [];
  const w = words(key);
  if (field["extend:type"] === "date") return "date";
  if (field["extend:type"] === "currency") return "amount";
  if (t.includes("boolean")) return "boolean";
  const money = [
    "total",
    "amount",
    "price",
    "tax",
    "subtotal",
    "cost",
    "fee",
    "balance",
    "due",
    "vat",
  ].some((x) => w.includes(x));
  if (t.includes("integer")) return money ? "amount" : "integer";
  if (t.includes("number")) return money ? "amount" : "number";
  if (["number", "no", "id", "code", "reference", "ref"].includes(w.at(-1) ?? ""))
    return "identifier";
  return "string";
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A label at the start of a cell (after any bullets or symbols), as a whole word. */
function labelPattern(label: string) {
  return new RegExp(`^[^\\p{L}\\p{N}]{0,3}${escapeRegExp(label)}(?![\\p{L}\\p{N}])`, "iu");
}

/** Labels that also occur inside ordinary sentences must be followed by a colon to count. */
const WEAK = new Set([
  "from",
  "date",
  "invoice",
  "facture",
  "rechnung",
  "factuur",
  "total",
  "tax",
  "client",
  "customer",
]);

/** Separators between a label and its value. */
const SEPARATOR = /^\s*(?:[:#.\-–—°º]|n°|no\.?|nr\.?)*\s*/iu;

function below(page: PageLayout, lineIndex: number, cell: Cell): string | undefined {
  const line = page.lines[lineIndex] as Line;
  for (const next of page.lines.slice(lineIndex + 1, lineIndex + 3)) {
    if (/^\(.*\)$/.test(next.text)) continue;
    if (next.top - line.bottom > line.size * 3) return undefined;
    const under = next.cells.find(
      (c) =>
        Math.min(c.right, cell.right) - Math.max(c.left, cell.left) > 0 ||
        Math.abs(c.left - cell.left) < 8,
    );
    if (under) return under.text;
  }
  return undefined;
}

/** Reads the text after a label as a value of `kind`; undefined when it is not one. */
function accept(kind: Kind, text: string, strict: boolean, order: DateOrder): string | undefined {
  const value = text.trim();
  if (!value) return undefined;
  switch (kind) {
    case "identifier": {
      // The first token must hold a digit: "Invoice INV/2023/03/0008", not "Invoice Date: ...".
      const token = value
        .replace(SEPARATOR, "")
        .split(/\s+/)[0]
        ?.replace(/^[#:]+/, "")
        .replace(/[,;:]+$/, "");
      // A date under or beside an identifier's label belongs to another column.
      return token && /\d/.test(token) && token.length >= 3 && !parseDate(token)
        ? token
        : undefined;
    }
    case "date":
      return parseDate(value, order) ?? undefined;
    case "amount": {
      const amounts = amountsIn(value);
      const pick = strict ? amounts.filter((a) => a.money) : amounts;
      const last = pick[pick.length - 1];
      return last === undefined ? undefined : String(last.value);
    }
    case "number":
    case "integer":
      return parseNumber(value) === null ? undefined : value;
    case "boolean":
      return parseBoolean(value) === null ? undefined : value;
    default:
      // A label followed by another label ("Invoice Date:   Due Date:") is not a value,
      // nor is a remark in parentheses.
      return value.endsWith(":") || /^\(.*\)$/.test(value) || value.length > 160
        ? undefined
        : value;
  }
}

/**
 * Finds a field's value: a label at the start of a cell, then the value in the rest of the
 * cell, the cells to its right, or the cell below it. Labels are tried most specific
 * first; among a label's matches the first wins, or the last for totals (which follow
 * subtotals). Amounts prefer money-looking numbers (cents or a currency sign).
 */
function find(
  layout: DocumentLayout,
  labels: string[],
  kind: Kind,
  last: boolean,
  order: DateOrder,
): Hit | undefined {
  for (const strict of kind === "amount" ? [true, false] : [true]) {
    for (const label of labels) {
      const pattern = labelPattern(label);
      // Identifiers and amounts are read strictly enough that a weak label needs no colon.
      const weak = WEAK.has(label) && (kind === "string" || kind === "date");
      const hits: Hit[] = [];
      layout.pages.forEach((page) => {
        page.lines.forEach((line, lineIndex) => {
          line.cells.forEach((cell, cellIndex) => {
            const match = pattern.exec(cell.text);
            if (!match) return;
            const rest = cell.text.slice(match[0].length);
            if (weak && !/^\s*[:#°º]|^\s*n°/iu.test(rest)) {
              // A weak label alone in its cell (a column header) may still head a value below.
              if (rest.trim() !== "") return;
            }
            const candidates: Array<[string, number, Line]> = [];
            const remainder = rest.replace(SEPARATOR, "");
            const rights = line.cells.slice(cellIndex + 1).map((c) => c.text);
            if (kind === "amount") {
              // An amount is the last money on the rest of the line: "Total  1  278.61  319.00".
              const rest = [remainder, ...rights].filter((t) => t.trim()).join("   ");
              if (rest) candidates.push([rest, 0.95, line]);
            } else {
              if (remainder.trim()) candidates.push([remainder, 0.95, line]);
              for (const right of rights) candidates.push([right, 0.9, line]);
            }
            const under = below(page, lineIndex, cell);
            if (under !== undefined) {
              const underLine =
                page.lines
                  .slice(lineIndex + 1)
                  .find((l) => l.cells.some((c) => c.text === under)) ?? line;
              candidates.push([under, 0.8, underLine]);
            }
            for (const [text, confidence, at] of candidates) {
              const value = accept(kind, text, strict, order);
              if (value !== undefined) {
                hits.push({ text: value, line: at, page, label, confidence });
                return;
              }
            }
          });
        });
      });
      const hit = last ? hits.at(-1) : hits[0];
      if (hit) return hit;
    }
  }
  return undefined;
}

function citation(hit: { line: Line; page: PageLayout }): Schemas["Citation"] {
  const { line, page } = hit;
  const r = (n: number) => Math.round(n * 100) / 100;
  return {
    page: page.number,
    referenceText: line.text,
    polygon: [
      { x: r(line.left), y: r(line.top) },
      { x: r(line.right), y: r(line.top) },
      { x: r(line.right), y: r(line.bottom) },
      { x: r(line.left), y: r(line.bottom) },
    ],
    pageWidth: page.width,
    pageHeight: page.height,
  };
}

/** The document's most common currency, used when a value names none. */
function documentCurrency(layout: DocumentLayout): string | null {
  const counts = new Map<string, number>();
  for (const page of layout.pages) {
    for (const line of page.lines) {
      const code = currencyCode(line.text);
      if (code) counts.set(code, (counts.get(code) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}

/** The first date written anywhere, for a document's main date when no label names it. */
function firstDate(layout: DocumentLayout, order: DateOrder): Hit | undefined {
  for (const page of layout.pages) {
    for (const line of page.lines) {
      const value = parseDate(line.text, order);
      if (value)
        return { text: value, line, page, label: "(first date in the document)", confidence: 0.5 };
    }
  }
  return undefined;
}

const DOCUMENT_WORDS =
  /\b(payment receipt|tax invoice|invoices?|facture|rechnung|factuur|factura|fattura|faktura|receipt|bill|quittung|reçu)\b[/\s]*/giu;

/**
 * Words of a document's title ("SERVICES AGREEMENT", "Quotation"): a first line holding one
 * names the document, not its issuer, so the letterhead is looked for below it.
 */
const TITLE_WORDS =
  /\b(agreement|contract|terms|statement|purchase order|order confirmation|quote|quotation|estimate|proposal|delivery note|credit note|memorandum|addendum|amendment)\b/iu;

/** The issuer's name where no label names it: the document's first line, minus document words. */
function letterhead(layout: DocumentLayout): Hit | undefined {
  const page = layout.pages[0];
  for (const line of page?.lines.slice(0, 3) ?? []) {
    const first = line.cells[0]?.text ?? "";
    if (first.includes(":") || TITLE_WORDS.test(first)) continue;
    const name =
      first
        .split(/\s[-–|]\s|,/)[0]
        ?.replace(DOCUMENT_WORDS, "")
        .trim() ?? "";
    if (name.length >= 2 && /\p{L}{2}/u.test(name) && !/\d{3,}/.test(name) && page) {
      return { text: name, line, page, label: "(letterhead)", confidence: 0.6 };
    }
  }
  return undefined;
}

/** Roles a contract gives its parties: the first side provides, the second pays. */
const VENDOR_ROLES = [
  "Service Provider",
  "Contractor",
  "Vendor",
  "Supplier",
  "Seller",
  "Provider",
  "Consultant",
  "Licensor",
];
const CUSTOMER_ROLES = ["Client", "Customer", "Buyer", "Purchaser", "Licensee"];

/**
 * A party named in one of `roles`, as contracts define them:
 * `Pixel Forge Studio ("Contractor")`, `Acme, Inc. (the “Vendor”)`. The name is the run of
 * capitalised words just before the parenthesis (with "of", "&" and the like inside it, but
 * not "and", which joins two parties), so "made between Globex Corporation" gives "Globex
 * Corporation"; a clause's number and heading before it ("1. Parties.") are cut off. The
 * first such party wins.
 */
function party(layout: DocumentLayout, roles: string[]): Hit | undefined {
  const word = String.raw`[\p{Lu}\p{N}][\p{L}\p{N}.,&'’-]*`;
  const joiner = "(?:of|&|de|du|la|von|van|der)";
  const quote = `["'“”‘’]?`;
  // No "i" flag: it would let \p{Lu} match lower-case words too and stretch the name.
  const pattern = new RegExp(
    String.raw`(${word}(?:\s+(?:${joiner}\s+)?${word})*)\s*\(\s*(?:[Tt]he\s+)?${quote}(${roles.join("|")})${quote}\s*\)`,
    "u",
  );
  for (const page of layout.pages) {
    for (const line of page.lines) {
      const m = pattern.exec(line.text);
      const name = m?.[1]?.replace(/^.*(?:\p{L}{3,}|\d)\.\s+/u, "").replace(/[\s,]+$/, "");
      if (m && name) return { text: name, line, page, label: `(party: ${m[2]})`, confidence: 0.7 };
    }
  }
  return undefined;
}

/** The words a table's column headers use for line-item properties. */
const ITEM_COLUMNS: Array<{ when: (w: string[]) => boolean; labels: string[] }> = [
  {
    when: (w) =>
      ["description", "item", "product", "name", "service", "title", "article"].some((x) =>
        w.includes(x),
      ),
    labels: [
      "description",
      "item",
      "product",
      "article",
      "artikel",
      "désignation",
      "designation",
      "beschreibung",
      "omschrijving",
      "service",
      "title",
      "name",
      "libellé",
    ],
  },
  {
    when: (w) => ["quantity", "qty", "units", "count"].some((x) => w.includes(x)),
    labels: [
      "quantity",
      "qty",
      "qté",
      "quantité",
      "menge",
      "anzahl",
      "aantal",
      "nombre",
      "cantidad",
      "units",
      "hours",
    ],
  },
  {
    when: (w) =>
      w.includes("price") || w.includes("rate") || (w.includes("unit") && w.includes("cost")),
    labels: [
      "unit price",
      "price",
      "rate",
      "unit cost",
      "prix unitaire",
      "p.u.",
      "pu ht",
      "einzelpreis",
      "vk-preis",
      "prijs per stuk",
      "prijs",
      "precio",
      "prezzo",
    ],
  },
  {
    when: (w) => ["amount", "total", "subtotal", "line"].some((x) => w.includes(x)),
    labels: [
      "amount",
      "line total",
      "total",
      "montant",
      "zeilenbetrag",
      "betrag",
      "bedrag",
      "importe",
      "importo",
    ],
  },
];

function columnLabels(key: string, field: FieldSchema): string[] {
  const w = words(key);
  const labels = [field["extend:name"]?.toLowerCase(), w.join(" ")];
  for (const concept of ITEM_COLUMNS) if (concept.when(w)) labels.push(...concept.labels);
  return [...new Set(labels.filter((l): l is string => Boolean(l)))];
}

/** The table whose header names the most of the item's properties (at least two). */
function itemTable(layout: DocumentLayout, properties: Record<string, FieldSchema>) {
  let best: { table: Table; page: PageLayout; columns: Record<string, number> } | undefined;
  let bestCount = 1;
  for (const page of layout.pages) {
    for (const table of findTables(page)) {
      const header = table.rows[0] ?? [];
      const columns: Record<string, number> = {};
      const used = new Set<number>();
      for (const [key, field] of Object.entries(properties)) {
        for (const label of columnLabels(key, field)) {
          const pattern = new RegExp(`(?:^|[^\\p{L}])${escapeRegExp(label)}(?![\\p{L}])`, "iu");
          const index = header.findIndex((h, i) => !used.has(i) && pattern.test(h));
          if (index >= 0) {
            columns[key] = index;
            used.add(index);
            break;
          }
        }
      }
      const count = Object.keys(columns).length;
      if (count > bestCount) {
        bestCount = count;
        best = { table, page, columns };
      }
    }
  }
  return best;
}

const SUMMARY_ROW =
  /^(sub ?total|total|totaal|summe|somme|montant|tax|vat|tva|mwst|btw|shipping|discount)\b/i;

/**
 * Line items from the table whose header names the item's properties: one item per row,
 * each cell typed by its property; a row with only a description continues the item above
 * it; rows of totals end the items.
 */
function extractItems(
  layout: DocumentLayout,
  itemSchema: FieldSchema,
  path: string,
  record: (path: string, hit: { line: Line; page: PageLayout }, confidence: number) => void,
  order: DateOrder,
) {
  const properties = itemSchema.properties ?? {};
  const found = itemTable(layout, properties);
  if (!found) return [];
  const { table, page, columns } = found;
  const items: Record<string, unknown>[] = [];
  const textKey = Object.keys(columns).find(
    (k) => kindOf(k, properties[k] as FieldSchema) === "string",
  );
  table.rows.slice(1).forEach((row, offset) => {
    const line = table.lines[offset + 1] as Line;
    const filled = row.filter((cell) => cell.trim() !== "");
    if (filled.length === 0) return;
    if (SUMMARY_ROW.test(filled[0] as string)) return;
    const hasNumbers = Object.entries(columns).some(
      ([k, i]) =>
        kindOf(k, properties[k] as FieldSchema) !== "string" && (row[i] ?? "").trim() !== "",
    );
    if (!hasNumbers) {
      const previous = items.at(-1);
      if (previous && textKey && typeof previous[textKey] === "string")
        previous[textKey] = `${previous[textKey]}\n${filled.join(" ")}`;
      return;
    }
    const item: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(properties)) {
      const index = columns[key];
      const cell = index === undefined ? "" : (row[index] ?? "").trim();
      const kind = kindOf(key, field);
      item[key] =
        cell === ""
          ? null
          : kind === "string" || kind === "identifier"
            ? cell
            : kind === "date"
              ? parseDate(cell, order)
              : parseNumber(cell);
    }
    record(`${path}[${items.length}]`, { line, page }, 0.85);
    items.push(item);
  });
  return items;
}

/**
 * Whether the document writes numeric dates day first: a date whose first part is over 12
 * settles it (and one whose second part is over 12 settles the other way); otherwise
 * documents priced in dollars are read month first and the rest day first.
 */
function dateOrder(layout: DocumentLayout, currency: string | null): DateOrder {
  for (const page of layout.pages) {
    for (const line of page.lines) {
      for (const m of line.text.matchAll(/\b(\d{1,2})[-/](\d{1,2})[-/]\d{2,4}\b/g)) {
        if (+(m[1] as string) > 12) return "dmy";
        if (+(m[2] as string) > 12) return "mdy";
      }
    }
  }
  return currency === "USD" || currency === null ? "mdy" : "dmy";
}

/**
 * Extracts values shaped by a JSON Schema config: each property's label is looked up in
 * the layout and the value next to it is typed by the schema; arrays of objects come from
 * the table whose columns name their properties; `null` where nothing is found. Every
 * found value gets a citation and a confidence in `metadata`.
 */
export function extractJson(
  layout: DocumentLayout,
  schema: FieldSchema,
  options: { insights?: boolean } = {},
): Schemas["JsonOutput"] {
  const metadata: Record<string, FieldMetadata> = {};
  const fallbackCurrency = documentCurrency(layout);
  const order = dateOrder(layout, fallbackCurrency);
  const record = (
    path: string,
    hit: { line: Line; page: PageLayout; label?: string },
    confidence: number,
  ) => {
    metadata[path] = {
      logprobsConfidence: confidence,
      citations: [citation(hit)],
      ...(options.insights
        ? {
            insights: [
              {
                type: "reasoning" as const,
                content: `Read next to "${hit.label ?? "the table header"}" on page ${hit.page.number}.`,
              },
            ],
          }
        : {}),
    };
  };
  const lookup = (key: string, field: FieldSchema, kind: Kind) => {
    const w = words(key);
    const last = w.includes("total") || (w.includes("due") && w.includes("amount"));
    let hit = find(layout, labelsFor(key, field), kind, last, order);
    if (
      !hit &&
      kind === "date" &&
      (w.includes("invoice") || w.includes("issue") || w.includes("document") || w.length === 1)
    )
      hit = firstDate(layout, order);
    // Contracts name their parties in roles rather than under labels; the issuer of anything
    // else is most likely whoever heads its first page.
    if (!hit && kind === "string" && VENDOR_WORDS.some((x) => w.includes(x)))
      hit = party(layout, VENDOR_ROLES) ?? letterhead(layout);
    if (!hit && kind === "string" && CUSTOMER_WORDS.some((x) => w.includes(x)))
      hit = party(layout, CUSTOMER_ROLES);
    return hit;
  };

  const fieldValue = (key: string, field: FieldSchema, path: string): unknown => {
    const t = Array.isArray(field.type) ? field.type : field.type ? [field.type] : [];
    if (field["extend:type"] === "currency") {
      const hit = lookup(key, field, "amount");
      if (hit) record(path, hit, hit.confidence);
      return {
        amount: hit ? Number(hit.text) : null,
        iso_4217_currency_code: hit ? (currencyCode(hit.line.text) ?? fallbackCurrency) : null,
      };
    }
    if (field["extend:type"] === "signature") {
      const hit = lookup(key, field, "string");
      if (hit) record(path, hit, hit.confidence);
      return {
        printed_name: hit ? hit.text.replace(/\b(date|dated)\b.*$/i, "").trim() || null : null,
        signature_date: hit ? parseDate(hit.line.text, order) : null,
        is_signed: hit ? true : null,
        title_or_role: null,
      };
    }
    if (t.includes("object") && field.properties) {
      return Object.fromEntries(
        Object.entries(field.properties).map(([k, f]) => [k, fieldValue(k, f, `${path}.${k}`)]),
      );
    }
    if (t.includes("array")) {
      return field.items?.properties ? extractItems(layout, field.items, path, record, order) : [];
    }
    if (field.enum) {
      const choices = field.enum.filter((o): o is string => typeof o === "string");
      const hit = lookup(key, field, "string");
      const haystack =
        hit?.text ?? layout.pages.map((p) => p.lines.map((l) => l.text).join("\n")).join("\n");
      const chosen = choices.find((o) =>
        new RegExp(`(?:^|[^\\p{L}\\p{N}])${escapeRegExp(o)}(?![\\p{L}\\p{N}])`, "iu").test(
          haystack,
        ),
      );
      if (chosen && hit) record(path, hit, hit.confidence);
      return chosen ?? null;
    }
    const kind = kindOf(key, field);
    const hit = lookup(key, field, kind);
    if (!hit) return null;
    let value: unknown;
    if (kind === "amount")
      value = t.includes("integer") ? Math.round(Number(hit.text)) : Number(hit.text);
    else if (kind === "integer") value = Math.round(parseNumber(hit.text) as number);
    else if (kind === "number") value = parseNumber(hit.text);
    else if (kind === "boolean") value = parseBoolean(hit.text);
    else value = hit.text;
    record(path, hit, hit.confidence);
    return value;
  };

  const value = Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([key, field]) => [
      key,
      fieldValue(key, field, key),
    ]),
  );
  return { value, metadata };
}

type ExtractionField = Schemas["ExtractionField"];

/** Extraction with a legacy `fields` config: the same lookup, in the fields-array shape. */
export function extractFields(
  layout: DocumentLayout,
  fields: ExtractionField[],
): Schemas["FieldsArrayOutput"] {
  const toSchema = (f: ExtractionField): FieldSchema => {
    switch (f.type) {
      case "currency":
        return { type: "object", "extend:type": "currency", description: f.description };
      case "date":
        return { type: ["string", "null"], "extend:type": "date", description: f.description };
      case "enum":
        return {
          type: ["string", "null"],
          enum: [...(f.enum ?? []).map((o) => o.value), null],
          description: f.description,
        };
      case "object":
        return {
          type: "object",
          properties: Object.fromEntries((f.schema ?? []).map((s) => [s.name, toSchema(s)])),
        };
      case "array":
        return {
          type: "array",
          items: {
            type: "object",
            properties: Object.fromEntries((f.schema ?? []).map((s) => [s.name, toSchema(s)])),
          },
        };
      case "signature":
        return { type: "object", "extend:type": "signature", description: f.description };
      default:
        return { type: [f.type, "null"], description: f.description };
    }
  };
  const out: Schemas["FieldsArrayOutput"] = {};
  for (const field of fields) {
    const json = extractJson(layout, {
      type: "object",
      properties: { [field.name]: toSchema(field) },
    });
    const meta = json.metadata[field.name];
    const cite = meta?.citations?.[0];
    out[field.id] = {
      id: field.id,
      type: field.type,
      value: json.value[field.name] ?? null,
      confidence: meta?.logprobsConfidence ?? 0,
      references: cite
        ? [
            {
              id: field.id,
              fieldName: field.name,
              page: cite.page ?? 1,
              boundingBoxes: [
                {
                  left: cite.polygon?.[0]?.x,
                  top: cite.polygon?.[0]?.y,
                  right: cite.polygon?.[2]?.x,
                  bottom: cite.polygon?.[2]?.y,
                },
              ],
            },
          ]
        : [],
      ...(field.schema ? { schema: field.schema } : {}),
      ...(field.enum ? { enum: field.enum } : {}),
    };
  }
  return out;
}
