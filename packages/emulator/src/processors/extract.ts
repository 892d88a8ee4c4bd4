import type { Schemas } from "@extendkit/core";
import {
  conceptLabels,
  enumPhrases,
  type FieldIntent,
  type FieldSchema,
  type Kind,
  readField,
  synonymsIn,
  withoutNegations,
  words,
} from "./intent.js";
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

export type { FieldSchema } from "./intent.js";

/** Where a value was read: the line, its page, the label that led to it, and a confidence. */
interface Hit {
  text: string;
  line: Line;
  page: PageLayout;
  label: string;
  confidence: number;
}

type FieldMetadata = Schemas["FieldMetadata"];

/** How a field's text is read, from its schema and what its key and description name. */
function kindOf(key: string, field: FieldSchema): Kind {
  return readField(key, field).kind;
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

/** Words of a description that name each item column, for keys that name none. */
const COLUMN_CUES: RegExp[] = [
  /\b(?:description|item|product|service|article|what (?:was )?(?:bought|billed|sold|ordered))\b/,
  /\b(?:quantity|qty|how many|number of (?:units|items|pieces)|count)\b/,
  /\b(?:unit price|price|rate|per unit|each|unit cost)\b/,
  /\b(?:amount|line total|total|extended)\b/,
];

/**
 * Header labels for an item property: `extend:name`, its title and synonyms, its key as
 * words, then the column vocabulary its key names, or else the one its description names
 * first ("Amount for the line (quantity × unit price)" is the amount column).
 */
function columnLabels(key: string, field: FieldSchema): string[] {
  const w = words(key);
  const labels = [
    field["extend:name"]?.toLowerCase(),
    field.title?.toLowerCase(),
    ...synonymsIn(field.description),
    w.join(" "),
  ];
  let columns = ITEM_COLUMNS.filter((concept) => concept.when(w));
  if (columns.length === 0) {
    const text = `${field.title ?? ""} ${field.description ?? ""}`.toLowerCase();
    const ranked = COLUMN_CUES.map((cue, i) => ({ i, at: cue.exec(text)?.index ?? -1 }))
      .filter((r) => r.at >= 0)
      .sort((a, b) => a.at - b.at);
    columns = ranked.slice(0, 1).map((r) => ITEM_COLUMNS[r.i] as (typeof ITEM_COLUMNS)[number]);
  }
  for (const concept of columns) labels.push(...concept.labels);
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
  citeBy: "item" | "property" = "item",
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
    if (citeBy === "property") {
      for (const [key, value] of Object.entries(item))
        if (value !== null) record(`${path}[${items.length}].${key}`, { line, page }, 0.85);
    } else record(`${path}[${items.length}]`, { line, page }, 0.85);
    items.push(item);
  });
  return items;
}

/** A numeric date whose day and month could be either way round ("03/02/2025"). */
const NUMERIC_DATE = /\b(\d{1,2})([-/])(\d{1,2})\2(\d{2,4})\b/g;

/**
 * Whether the document writes numeric dates day first, decided from all its dates:
 * 1. its numeric dates: one whose first part is over 12 is day first, one whose second part
 *    is over 12 month first (when they disagree, neither counts);
 * 2. the extraction rules, where they say how the documents write dates ("dates are day
 *    first", "DD/MM/YYYY", "US dates");
 * 3. its issue and due dates: the order under which the due date is on or after the issue
 *    date, within a year, where only one order does so;
 * 4. its currency: dollars (or none) month first, any other day first.
 */
function dateOrder(layout: DocumentLayout, currency: string | null, rules = ""): DateOrder {
  let dayFirst = 0;
  let monthFirst = 0;
  for (const page of layout.pages) {
    for (const line of page.lines) {
      for (const m of line.text.matchAll(NUMERIC_DATE)) {
        const [a, b] = [+(m[1] as string), +(m[3] as string)];
        if (a > 12 && b <= 12) dayFirst++;
        if (b > 12 && a <= 12) monthFirst++;
      }
    }
  }
  if (dayFirst > 0 && monthFirst === 0) return "dmy";
  if (monthFirst > 0 && dayFirst === 0) return "mdy";
  // Rules about how the documents write dates; not "return dates as YYYY-MM-DD", which is
  // about the answer, nor what they say the dates are not.
  const said = withoutNegations(rules).replace(/\byyyy[-/.]mm[-/.]dd\b/gi, "");
  if (/\bday[- ]first\b|\bdd[-/.]mm\b|\beuropean dates?\b/i.test(said)) return "dmy";
  if (/\bmonth[- ]first\b|\bmm[-/.]dd\b|\b(?:us|american) dates?\b/i.test(said)) return "mdy";
  const plausible = (order: DateOrder): boolean | undefined => {
    const issued = find(layout, conceptLabels("invoice_date"), "date", false, order);
    const due = find(layout, conceptLabels("due_date"), "date", false, order);
    if (!issued || !due || issued.line === due.line) return undefined;
    const days = (Date.parse(due.text) - Date.parse(issued.text)) / 86_400_000;
    return days >= 0 && days <= 366;
  };
  const mdy = plausible("mdy");
  const dmy = plausible("dmy");
  if (mdy !== undefined && dmy !== undefined && mdy !== dmy) return mdy ? "mdy" : "dmy";
  return currency === "USD" || currency === null ? "mdy" : "dmy";
}

/** An object a field sits in: its key and its schema. */
type Parent = { key: string; field: FieldSchema };

/** The processor's options that change what extraction looks for and what it answers. */
export interface ExtractOptions {
  /** Add a reasoning insight to each value (`modelReasoningInsightsEnabled`). */
  insights?: boolean;
  /** Cite where each value was read (`citationsEnabled`, on unless false). */
  citations?: boolean;
  /**
   * `extraction_light`: read labelled values only, with no inferred ones (a letterhead as the
   * issuer, the first date as the issue date, a contract's parties), at lower confidence.
   */
  light?: boolean;
  /** The config's `extractionRules`, read for date order hints ("dates are day first"). */
  rules?: string;
  /** `arrayCitationStrategy`: cite each item (default), or each property of each item. */
  arrayCitations?: "item" | "property";
}

/** A value found in the document's text, with where it was found. */
function firstMention(
  layout: DocumentLayout,
  phrase: string,
): { count: number; line?: Line; page?: PageLayout } {
  const pattern = new RegExp(
    `(?:^|[^\\p{L}\\p{N}])${escapeRegExp(phrase)}(?![\\p{L}\\p{N}])`,
    "giu",
  );
  let count = 0;
  let first: { line: Line; page: PageLayout } | undefined;
  for (const page of layout.pages)
    for (const line of page.lines) {
      const n = [...line.text.matchAll(pattern)].length;
      if (n > 0 && !first) first = { line, page };
      count += n;
    }
  return { count, ...first };
}

/**
 * Extracts values shaped by a JSON Schema config: each property is read as its key,
 * title and description say (see `readField`), its label is looked up in the layout and
 * the value next to it is typed by the schema; arrays of objects come from the table whose
 * columns name their properties; `null` where nothing is found. Every found value gets a
 * citation and a confidence in `metadata`.
 */
export function extractJson(
  layout: DocumentLayout,
  schema: FieldSchema,
  options: ExtractOptions = {},
): Schemas["JsonOutput"] {
  const metadata: Record<string, FieldMetadata> = {};
  const fallbackCurrency = documentCurrency(layout);
  const order = dateOrder(layout, fallbackCurrency, options.rules);
  const penalty = options.light ? 0.1 : 0;
  const record = (
    path: string,
    hit: { line: Line; page: PageLayout; label?: string },
    confidence: number,
    why?: string,
  ) => {
    metadata[path] = {
      logprobsConfidence: Math.round((confidence - penalty) * 100) / 100,
      ...(options.citations === false ? {} : { citations: [citation(hit)] }),
      ...(options.insights
        ? {
            insights: [
              {
                type: "reasoning" as const,
                content: `Read next to "${hit.label ?? "the table header"}" on page ${hit.page.number}${why ? `; ${why}` : ""}.`,
              },
            ],
          }
        : {}),
    };
  };
  const explain = (intent: FieldIntent) =>
    intent.concepts[0] && intent.source !== "key"
      ? `the field's ${intent.source === "object" ? "object" : intent.source} names the ${intent.concepts[0].replace(/_/g, " ")}`
      : undefined;
  const lookup = (key: string, field: FieldSchema, parents: Parent[], as?: Kind) => {
    const intent = readField(key, field, parents);
    const kind = as ?? intent.kind;
    const concepts = intent.concepts;
    const last = words(key).includes("total") || concepts[0] === "total";
    let hit = find(layout, intent.labels, kind, last, order);
    if (!options.light) {
      if (
        !hit &&
        kind === "date" &&
        (concepts.includes("invoice_date") ||
          (intent.source === "none" &&
            !field.description &&
            ["date", "dt"].includes(key.toLowerCase())))
      )
        hit = firstDate(layout, order);
      // Contracts name their parties in roles rather than under labels; the issuer of anything
      // else is most likely whoever heads its first page.
      if (!hit && kind === "string" && concepts.includes("vendor"))
        hit = party(layout, VENDOR_ROLES) ?? letterhead(layout);
      if (!hit && kind === "string" && concepts.includes("customer"))
        hit = party(layout, CUSTOMER_ROLES);
    }
    return { hit, intent };
  };

  /** The currency of the total (or of the document), for a field that asks for a currency. */
  const currencyHit = (): Hit | undefined => {
    const total = find(layout, conceptLabels("total"), "amount", true, order);
    const code = (total && currencyCode(total.line.text)) ?? fallbackCurrency;
    if (!code) return undefined;
    if (total && currencyCode(total.line.text) === code)
      return { ...total, text: code, label: `${total.label} (its currency)` };
    for (const page of layout.pages)
      for (const line of page.lines)
        if (currencyCode(line.text) === code)
          return { text: code, line, page, label: "(the document's currency)", confidence: 0.7 };
    return undefined;
  };

  const fieldValue = (
    key: string,
    field: FieldSchema,
    path: string,
    parents: Parent[],
  ): unknown => {
    const t = Array.isArray(field.type) ? field.type : field.type ? [field.type] : [];
    if (field["extend:type"] === "currency") {
      const { hit, intent } = lookup(key, field, parents, "amount");
      if (hit) record(path, hit, hit.confidence, explain(intent));
      return {
        amount: hit ? Number(hit.text) : null,
        iso_4217_currency_code: hit ? (currencyCode(hit.line.text) ?? fallbackCurrency) : null,
      };
    }
    if (field["extend:type"] === "signature") {
      const { hit } = lookup(key, field, parents, "string");
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
        Object.entries(field.properties).map(([k, f]) => [
          k,
          fieldValue(k, f, `${path}.${k}`, [...parents, { key, field }]),
        ]),
      );
    }
    if (t.includes("array")) {
      return field.items?.properties
        ? extractItems(layout, field.items, path, record, order, options.arrayCitations)
        : [];
    }
    if (field.enum) return enumValue(key, field, path, parents);
    const { hit: found, intent } = lookup(key, field, parents);
    const hit = found ?? (intent.concepts[0] === "currency" ? currencyHit() : undefined);
    if (!hit) return null;
    const kind = intent.kind;
    let value: unknown;
    if (kind === "amount")
      value = t.includes("integer") ? Math.round(Number(hit.text)) : Number(hit.text);
    else if (kind === "integer") value = Math.round(parseNumber(hit.text) as number);
    else if (kind === "number") value = parseNumber(hit.text);
    else if (kind === "boolean") value = parseBoolean(hit.text);
    else if (intent.concepts[0] === "currency") value = currencyCode(hit.text) ?? hit.text;
    else value = hit.text;
    record(path, hit, hit.confidence, explain(intent));
    return value;
  };

  /**
   * An enum's option: a currency field's is the document's currency; otherwise the option
   * whose value or description the text next to the field's label names, or else the option
   * the document names most often (the first listed on a tie).
   */
  const enumValue = (key: string, field: FieldSchema, path: string, parents: Parent[]) => {
    const choices = enumPhrases(field);
    const { hit, intent } = lookup(key, field, parents, "string");
    if (intent.concepts[0] === "currency") {
      const currency = currencyHit();
      const chosen = choices.find((o) => o.value.toUpperCase() === currency?.text);
      if (chosen && currency) record(path, currency, currency.confidence, explain(intent));
      return chosen?.value ?? null;
    }
    if (hit) {
      let best: { value: string; at: number } | undefined;
      for (const choice of choices)
        for (const phrase of choice.phrases) {
          const at = hit.text.toLowerCase().indexOf(phrase.toLowerCase());
          if (at >= 0 && (!best || at < best.at)) best = { value: choice.value, at };
        }
      if (best) {
        record(path, hit, hit.confidence, explain(intent));
        return best.value;
      }
    }
    let best: { value: string; count: number; line?: Line; page?: PageLayout } | undefined;
    for (const choice of choices) {
      for (const phrase of choice.phrases) {
        const mention = firstMention(layout, phrase);
        if (mention.count > (best?.count ?? 0)) best = { value: choice.value, ...mention };
      }
    }
    if (!best) return null;
    if (best.line && best.page)
      record(
        path,
        { line: best.line, page: best.page, label: `(the document names "${best.value}")` },
        0.6,
      );
    return best.value;
  };

  const value = Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([key, field]) => [
      key,
      fieldValue(key, field, key, []),
    ]),
  );
  return { value, metadata };
}

/**
 * A workbook's pages narrowed to the sheets `excelSheetSelectionStrategy` ("first", "last";
 * "all" and "intelligent" keep every sheet) and `excelSheetRanges` (0-based, inclusive) pick.
 * Layouts of anything but a workbook are returned as they are.
 */
export function selectSheets(
  layout: DocumentLayout,
  strategy: string | undefined,
  ranges: Array<{ start: number; end: number }> | undefined,
): DocumentLayout {
  const sheets = [
    ...new Set(layout.pages.flatMap((p) => (p.sheet === undefined ? [] : [p.sheet]))),
  ];
  if (sheets.length === 0) return layout;
  let kept = sheets;
  if (ranges && ranges.length > 0)
    kept = kept.filter((sheet) => ranges.some((r) => sheet >= r.start && sheet <= r.end));
  if (strategy === "first") kept = kept.slice(0, 1);
  if (strategy === "last") kept = kept.slice(-1);
  return { ...layout, pages: layout.pages.filter((p) => kept.includes(p.sheet as number)) };
}

/**
 * A layout narrowed to the pages the processor's `pageRanges` name (1-based, inclusive; a
 * missing end runs to the last page). Page numbers stay those of the document.
 */
export function selectPages(
  layout: DocumentLayout,
  ranges: Array<{ start?: number; end?: number }> | undefined,
): DocumentLayout {
  if (!ranges || ranges.length === 0) return layout;
  const inRange = (n: number) =>
    ranges.some((r) => n >= (r.start ?? 1) && n <= (r.end ?? Number.POSITIVE_INFINITY));
  return { ...layout, pages: layout.pages.filter((page) => inRange(page.number)) };
}

type ExtractionField = Schemas["ExtractionField"];

/** Extraction with a legacy `fields` config: the same lookup, in the fields-array shape. */
export function extractFields(
  layout: DocumentLayout,
  fields: ExtractionField[],
  options: ExtractOptions = {},
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
          "x-enum-descriptions": Object.fromEntries(
            (f.enum ?? []).map((o) => [o.value, o.description]),
          ),
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
    const json = extractJson(
      layout,
      { type: "object", properties: { [field.name]: toSchema(field) } },
      options,
    );
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
