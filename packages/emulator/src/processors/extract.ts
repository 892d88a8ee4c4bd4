import type { Schemas } from "@extendkit/core";
import type { DocumentLayout, Line, PageLayout } from "./layout.js";
import { currencyCode, parseBoolean, parseDate, parseNumber } from "./values.js";

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

interface Hit {
  text: string;
  line: Line;
  page: PageLayout;
  label: string;
  confidence: number;
}

type FieldMetadata = Schemas["FieldMetadata"];

/** Labels that often stand for a field in documents (a small, general vocabulary). */
const SYNONYMS: Record<string, string[]> = {
  total: ["total amount", "amount due", "total due", "balance due", "grand total", "total"],
  vendor: ["vendor", "supplier", "seller", "from", "sold by"],
  customer: ["customer", "bill to", "billed to", "buyer", "sold to"],
  due: ["due date", "payment due", "due"],
  tax: ["tax", "vat", "gst", "sales tax"],
  subtotal: ["subtotal", "sub total", "net amount"],
};

/** Label phrases to look for, most specific first. */
export function labelsFor(key: string, field: FieldSchema): string[] {
  const human = key
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .toLowerCase()
    .trim();
  const labels = [field["extend:name"]?.toLowerCase(), human];
  if (/\bnumber\b/.test(human))
    labels.push(
      human.replace(/\bnumber\b/, "no"),
      human.replace(/\bnumber\b/, "#"),
      human.replace(/\s*number\b/, " num"),
    );
  if (/\bname$/.test(human)) labels.push(human.replace(/\s*name$/, ""));
  for (const [word, synonyms] of Object.entries(SYNONYMS)) {
    if (human.split(" ").includes(word)) labels.push(...synonyms);
  }
  const description = field.description
    ?.replace(/^(the|a|an)\s+/i, "")
    .replace(/\.$/, "")
    .toLowerCase();
  if (description && description.split(/\s+/).length <= 5) labels.push(description);
  return [...new Set(labels.filter((l): l is string => Boolean(l?.trim())))];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Finds the text that follows one of `labels` on a line (or on the next line). */
function find(layout: DocumentLayout, labels: string[]): Hit | undefined {
  for (const label of labels) {
    const pattern = new RegExp(
      `(?:^|[^a-z0-9])${escapeRegExp(label)}(?![a-z0-9])\\s*([:#.\\-]?)\\s*(.*)$`,
      "i",
    );
    for (const page of layout.pages) {
      for (let i = 0; i < page.lines.length; i++) {
        const line = page.lines[i] as Line;
        const match = pattern.exec(line.text);
        if (!match) continue;
        const rest = (match[2] ?? "").trim();
        if (rest) return { text: rest, line, page, label, confidence: match[1] ? 0.95 : 0.85 };
        const next = page.lines[i + 1];
        if (next && next.top - line.bottom < line.size * 2.5) {
          return { text: next.text, line: next, page, label, confidence: 0.75 };
        }
      }
    }
  }
  return undefined;
}

function types(field: FieldSchema): string[] {
  return Array.isArray(field.type) ? field.type : field.type ? [field.type] : [];
}

function citation(hit: Hit): Schemas["Citation"] {
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

/** The document's most common currency code, used when a value names none. */
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

/**
 * Extracts values shaped by a JSON Schema config: each property's label is looked up in
 * the text and the value next to it is typed by the schema; `null` where nothing is
 * found. Every found value gets a citation and a confidence in `metadata`.
 */
export function extractJson(
  layout: DocumentLayout,
  schema: FieldSchema,
  options: { insights?: boolean } = {},
): Schemas["JsonOutput"] {
  const metadata: Record<string, FieldMetadata> = {};
  const fallbackCurrency = documentCurrency(layout);
  const record = (path: string, hit: Hit | undefined, note?: string) => {
    if (!hit) return;
    metadata[path] = {
      logprobsConfidence: hit.confidence,
      citations: [citation(hit)],
      ...(options.insights
        ? {
            insights: [
              {
                type: "reasoning" as const,
                content: note ?? `Read next to "${hit.label}" on page ${hit.page.number}.`,
              },
            ],
          }
        : {}),
    };
  };

  const fieldValue = (key: string, field: FieldSchema, path: string): unknown => {
    const kind = field["extend:type"];
    const t = types(field);
    if (kind === "currency") {
      const hit = find(layout, labelsFor(key, field));
      record(path, hit);
      const amount = hit ? parseNumber(hit.text) : null;
      return {
        amount,
        iso_4217_currency_code: hit ? (currencyCode(hit.text) ?? fallbackCurrency) : null,
      };
    }
    if (kind === "signature") {
      const hit = find(layout, labelsFor(key, field));
      record(path, hit);
      return {
        printed_name: hit ? hit.text.replace(/\b(date|dated)\b.*$/i, "").trim() || null : null,
        signature_date: hit ? parseDate(hit.text) : null,
        is_signed: hit ? true : null,
        title_or_role: null,
      };
    }
    if (t.includes("object") && field.properties) {
      return Object.fromEntries(
        Object.entries(field.properties).map(([k, f]) => [k, fieldValue(k, f, `${path}.${k}`)]),
      );
    }
    if (t.includes("array")) return [];
    if (field.enum) {
      const options = field.enum.filter((o): o is string => typeof o === "string");
      const hit = find(layout, labelsFor(key, field));
      const haystack =
        hit?.text ?? layout.pages.map((p) => p.lines.map((l) => l.text).join("\n")).join("\n");
      const chosen = options.find((o) =>
        new RegExp(`(?:^|[^a-z0-9])${escapeRegExp(o)}(?![a-z0-9])`, "i").test(haystack),
      );
      if (chosen && hit) record(path, hit);
      return chosen ?? null;
    }
    const hit = find(layout, labelsFor(key, field));
    let value: unknown = null;
    if (hit) {
      if (kind === "date") value = parseDate(hit.text);
      else if (t.includes("integer"))
        value = parseNumber(hit.text) === null ? null : Math.round(parseNumber(hit.text) as number);
      else if (t.includes("number")) value = parseNumber(hit.text);
      else if (t.includes("boolean")) value = parseBoolean(hit.text);
      else value = hit.text;
    }
    if (value !== null) record(path, hit);
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
        return { type: "array", items: { type: "object" } };
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
