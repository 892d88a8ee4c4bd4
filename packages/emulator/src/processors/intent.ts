/**
 * Reading an extraction schema the way a person reads it: what a field is (its concept),
 * how its text is read (its kind) and which labels a document prints next to it, from the
 * field's key, `extend:name`, title, description (with the synonyms and hints it gives),
 * `extend:type`, JSON type and the object it sits in. No model: a small vocabulary of the
 * fields documents share, matched against what the schema says.
 */

/** The subset of JSON Schema an extraction config uses. */
export interface FieldSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, FieldSchema>;
  items?: FieldSchema;
  enum?: (string | null)[];
  "extend:type"?: string;
  "extend:name"?: string;
  /** The descriptions of a legacy `fields` config's enum options, by value (emulator-internal). */
  "x-enum-descriptions"?: Record<string, string>;
}

/** How the text next to a label is read. */
export type Kind = "string" | "identifier" | "date" | "amount" | "number" | "integer" | "boolean";

/** The fields documents share, which the vocabulary knows labels for. */
export type ConceptId =
  | "invoice_number"
  | "invoice_date"
  | "due_date"
  | "subtotal"
  | "total"
  | "tax"
  | "vendor"
  | "customer"
  | "order_number"
  | "currency";

interface Concept {
  id: ConceptId;
  /** Whether a field's key words (or its parent's and its own) name the concept. */
  key: (words: string[]) => boolean;
  /** Phrases in a description or title that name the concept. */
  cue: RegExp;
  /** The kinds of value the concept can be read as; the first is its own. */
  kinds: Kind[];
  labels: string[];
}

/** Words in a field's key that make it the issuer's name, or the customer's. */
const VENDOR_WORDS = ["vendor", "supplier", "seller", "issuer", "merchant", "company"];
const CUSTOMER_WORDS = ["customer", "buyer", "client", "bill", "recipient"];

const MONEY: Kind[] = ["amount", "number", "integer"];
const DATE: Kind[] = ["date", "string"];
const ID: Kind[] = ["identifier", "string"];
const NAME: Kind[] = ["string"];

/**
 * Labels documents use for common fields, in several languages, most specific first. A
 * field gets the labels of every concept its key names, or of the one its words name best.
 */
const CONCEPTS: Concept[] = [
  {
    id: "invoice_number",
    key: (w) =>
      w.includes("invoice") && (w.includes("number") || w.includes("no") || w.includes("id")),
    // "invoice no.", "invoice itself: its identifier", "number the seller gave this bill".
    // A keyword is a word of its own: "the invoice was paid" names no id.
    cue: /\b(?:invoice|bill|receipt|document|doc)\b(?:\s+[\p{L}']+){0,3}?(?:\s*#|\s+(?:number|no|nr|num|id|identifier|reference|ref)\b)|\b(?:number|identifier|id|reference)\b(?:\s+[\p{L}']+){0,5}?\s+(?:invoice|bill|receipt|document)\b/u,
    kinds: ID,
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
      "receipt number",
      "receipt no",
      "document number",
      "document no",
      "booking id",
      "invoice",
    ],
  },
  {
    id: "due_date",
    key: (w) => w.includes("due"),
    cue: /\b(?:due|payable|deadline|pay(?:ment)? by|payment date|must be paid|to be paid)\b/,
    kinds: DATE,
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
    id: "invoice_date",
    key: (w) =>
      w.includes("date") &&
      (w.includes("invoice") || w.includes("issue") || w.includes("document")),
    cue: /\b(?:issue[ds]?|issuance|issuing|invoiced on|invoice date|billed on|billing date|dated|document date|date of (?:the |this )?(?:invoice|bill|document)|date (?:printed )?on (?:the|this) (?:invoice|bill)|emission date|date of emission)\b|\b(?:day|date|when)\b(?:\s+[\p{L}']+){0,4}?\s+(?:was|is|were|got)\s+(?:issued|created|written|made|sent|dated|raised|drawn up|billed|invoiced)\b/u,
    kinds: DATE,
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
    id: "subtotal",
    key: (w) => w.includes("subtotal") || (w.includes("net") && w.includes("amount")),
    cue: /\b(?:sub-?\s?total|before (?:any )?tax(?:es)?|excluding (?:any )?tax(?:es)?|excl\.? (?:of )?tax|without tax|pre-?tax|untaxed|net (?:amount|total)|tax-exclusive)\b/,
    kinds: MONEY,
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
    id: "tax",
    key: (w) => w.includes("tax") || w.includes("vat") || w.includes("gst"),
    cue: /(?<!including |incl\.? |inclusive of |with |after |plus |and )\b(?:total\s+)?(?:sales\s+|value[- ]added\s+)?(?:tax(?:es)?|vat|gst|tva|mwst)\b(?! included| inclusive)/,
    kinds: MONEY,
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
    id: "total",
    key: (w) => w.includes("total") && !w.includes("subtotal"),
    // "amount due", "final sum the buyer has to pay", "what is left to pay".
    cue: /\b(?:grand total|total|(?:amount|sum|balance)\b(?:\s+[\p{L}']+){0,4}?\s+(?:due|payable|owed|pay|paid|charged|billed)|invoice (?:amount|sum|value)|final (?:amount|sum)|left to pay|to pay|payable|outstanding|how much)\b/u,
    kinds: MONEY,
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
    id: "vendor",
    key: (w) => VENDOR_WORDS.some((x) => w.includes(x)),
    cue: /\b(?:vendor|supplier|seller|issuer|merchant|provider|contractor|sold by|billed by|invoiced by|(?:who|which|that) (?:\w+ )?(?:issued|issues|sent|sends|wrote|writes|makes|made|billed|bills|invoiced|invoices|prepared|created|receives the (?:money|payment)|gets paid|is paid|asks to be paid|expects to be paid)|issuing (?:company|party|business)|from whom|(?:invoice|bill|document) (?:is|comes) from|letterhead|header)\b/,
    kinds: NAME,
    labels: [
      "vendor",
      "supplier",
      "seller",
      "sold by",
      "service provider",
      "issued by",
      "payment received by",
      "make checks payable to",
      "payable to",
      "remit to",
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
    id: "customer",
    key: (w) => CUSTOMER_WORDS.some((x) => w.includes(x)),
    cue: /\b(?:customer|buyer|client|purchaser|recipient|billed to|bill to|sold to|invoiced to|addressed to|(?:who|which|that) (?:was|is) (?:billed|invoiced|charged)|(?:who|which|that) (?:pays|must pay|bought)|payer)\b/,
    kinds: NAME,
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
    id: "order_number",
    key: (w) => (w.includes("order") || w.includes("po")) && !w.includes("date"),
    cue: /\b(?:purchase order|p\.?o\.?(?= |$)|order (?:number|no\b|id\b|reference))/,
    kinds: ID,
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
  {
    id: "currency",
    key: (w) => w.includes("currency") || w.includes("ccy"),
    cue: /\b(?:currency|iso[- ]?4217)\b/,
    kinds: ["string", "identifier"],
    labels: ["currency", "devise", "währung", "valuta", "moneda"],
  },
];

/** Concepts that win over another when both are named ("total before tax" is a subtotal). */
const OUTRANKS: Partial<Record<ConceptId, ConceptId[]>> = {
  subtotal: ["total", "tax"],
  due_date: ["invoice_date"],
  invoice_number: ["invoice_date"],
};

/** A key's words: `invoiceNumber`, `invoice_number` and `invoice-number` give the same two. */
export function words(key: string) {
  return key
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .toLowerCase()
    .trim()
    .split(/\s+/);
}

/** Prose lower-cased, with curly apostrophes straightened and spaces collapsed, for cue phrases. */
function prose(text: string) {
  return text.toLowerCase().replace(/[’‘]/g, "'").replace(/\s+/g, " ").trim();
}

/**
 * A description without what it says the field is not: "Not the due date", "Do not use our
 * own company name, which appears in the 'Bill to' block", "rather than the order number".
 * Those clauses name other fields, which would otherwise be read as this one's.
 */
export function withoutNegations(text: string) {
  return text.replace(
    /\b(?:not the|not a|not an|not our|not any|not to be confused with|do not|don't|does not|never|rather than|instead of|other than|as opposed to|unlike)\b[^.;()]*/giu,
    " ",
  );
}

/**
 * Things a party or a document *has* that are not the field a concept names: "Email of the
 * vendor", "Supplier VAT ID", "Discount applied to the invoice total", `vendor_address`. A
 * field whose key, or the first phrase of whose title or description, names one of these is
 * that thing, so it takes no concept (and none of the concept's labels or inferences).
 */
const ATTRIBUTE =
  /\b(?:e-?mail|phone|telephone|mobile|fax|address|addr|website|url|iban|bic|swift|(?:vat|tax|tin|gst)[ -]?(?:id|number|no|reg(?:istration)?)|registration|discount|tip|gratuity|terms|note|notes|status|logo|signature|bank|account|contact|city|country|zip|postcode|postal code)\b/;

/** A text's first phrase: up to its first punctuation or linking word ("Email" of "Email of the vendor"). */
function firstPhrase(text: string) {
  return (
    prose(text).split(
      /[,.;:()]|\s(?:of|for|to|from|that|which|who|where|when|as|on|in|at|by|with|including|excluding|printed|shown|issued|used)\s/,
    )[0] ?? ""
  );
}

/** Words that only name a field's shape, which take their meaning from the object around them. */
const GENERIC = new Set([
  "name",
  "nm",
  "nr",
  "num",
  "dt",
  "amt",
  "val",
  "txt",
  "number",
  "no",
  "id",
  "date",
  "amount",
  "value",
  "code",
  "ref",
  "reference",
  "title",
]);

/**
 * Phrases a description or title gives as the labels a document prints: in parentheses
 * ("(invoice no., invoice #, bill number)"), in quotes ("labelled 'Rechnungsnr.'"), or after
 * "labelled", "called", "also known as" and the like. Each is at most five words.
 */
export function synonymsIn(text: string | undefined): string[] {
  if (!text) return [];
  const found: string[] = [];
  const add = (phrase: string) => {
    const cleaned = phrase
      .replace(
        /^\s*(?:(?:e\.g\.|i\.e\.|eg|ie|for example|such as|like|or|aka|just|labell?ed|called|the)[:,]?\s+)+/i,
        "",
      )
      .replace(/^["'“”‘’]|["'“”‘’]$/g, "")
      .replace(/[.:;,]+$/, "")
      .trim()
      .toLowerCase();
    if (cleaned.length >= 2 && cleaned.split(/\s+/).length <= 5 && /\p{L}/u.test(cleaned))
      found.push(cleaned);
  };
  for (const m of text.matchAll(/\(([^()]{2,120})\)/g))
    for (const part of (m[1] as string).split(/\s*(?:,|;|\/(?=\s)|\bor\b)\s*/)) add(part);
  for (const m of text.matchAll(/["“]([^"“”]{2,40})["”]/g)) add(m[1] as string);
  // Single quotes, but not apostrophes: "labelled 'Inv. Ref'", not "the supplier's … it's".
  for (const m of text.matchAll(/(?<![\p{L}\p{N}])['‘]([^'‘’"“”]{2,40})['’](?![\p{L}\p{N}])/gu))
    add(m[1] as string);
  for (const m of text.matchAll(
    /\b(?:labell?ed|called|titled|marked|headed|captioned|also known as|printed as|shown as|appears as|next to)\s+(?:as\s+)?([^,;.()"“”'‘’]{2,40})/gi,
  ))
    add(m[1] as string);
  return [...new Set(found)];
}

/** The concepts whose cue phrases a text names, earliest first, longer phrases first on ties. */
function conceptsNamedIn(text: string, kind: Kind | undefined): Concept[] {
  const t = prose(text);
  const hits: Array<{ concept: Concept; index: number; length: number; possessor: boolean }> = [];
  for (const concept of CONCEPTS) {
    if (kind && !concept.kinds.includes(kind)) continue;
    const m = concept.cue.exec(t);
    if (m) {
      const possessor = t.startsWith("'s", m.index + m[0].length);
      hits.push({ concept, index: m.index, length: m[0].length, possessor });
    }
  }
  // A possessor names whose the thing is, not what it is ("the supplier's reference
  // number"), unless nothing else is named ("the supplier's company name").
  const owned = hits.some((h) => !h.possessor) ? hits.filter((h) => !h.possessor) : hits;
  return owned
    .filter((h) => !owned.some((o) => OUTRANKS[o.concept.id]?.includes(h.concept.id)))
    .sort((a, b) => a.index - b.index || b.length - a.length)
    .map((h) => h.concept);
}

/** How much of a description or title is read, in characters. */
const MAX_PROSE = 2000;

/** What an extraction field is, how it is read, and the labels to look for. */
export interface FieldIntent {
  /** The concepts the field names, most likely first (empty when none is known). */
  concepts: ConceptId[];
  /** How the text next to a label is read. */
  kind: Kind;
  /** Label phrases to look for, most specific first. */
  labels: string[];
  /** Where the concept came from, for the insights the extractor gives. */
  source: "key" | "object" | "title" | "description" | "none";
}

const MONEY_WORDS =
  /\b(?:total|amount|price|tax|vat|subtotal|cost|fee|balance|due|sum|paid|payable|charge[ds]?|money|owed)\b/;

/** The kind a field's schema gives before its concept is known. */
function schemaKind(key: string, field: FieldSchema): Kind {
  const t = Array.isArray(field.type) ? field.type : field.type ? [field.type] : [];
  const w = words(key);
  if (field["extend:type"] === "date") return "date";
  if (field["extend:type"] === "currency") return "amount";
  if (t.includes("boolean")) return "boolean";
  const money =
    ["total", "amount", "price", "tax", "subtotal", "cost", "fee", "balance", "due", "vat"].some(
      (x) => w.includes(x),
    ) || MONEY_WORDS.test(prose(`${field.title ?? ""} ${field.description ?? ""}`));
  if (t.includes("integer")) return money ? "amount" : "integer";
  if (t.includes("number")) return money ? "amount" : "number";
  if (["number", "no", "id", "code", "reference", "ref"].includes(w.at(-1) ?? ""))
    return "identifier";
  return "string";
}

/**
 * Reads a field: its key's words name a concept first (`invoice_number`); then its key
 * with its parent's (`invoice.number`, `vendor.name`); then its title, `extend:name` and
 * description in prose ("Date the invoice was issued"). Labels: `extend:name`, the
 * synonyms its description gives, its key as words, then the concept's vocabulary.
 */
export function readField(
  key: string,
  field: FieldSchema,
  parents: Array<{ key: string; field: FieldSchema }> = [],
): FieldIntent {
  const base = schemaKind(key, field);
  const keyWords = words(key);
  const attribute = [keyWords.join(" "), field.title ?? "", field.description ?? ""].some((text) =>
    ATTRIBUTE.test(firstPhrase(text.slice(0, MAX_PROSE))),
  );
  const compatible = (c: Concept) =>
    c.kinds.includes(base) || (base === "string" && c.kinds.includes("identifier"));
  let source: FieldIntent["source"] = "none";
  let concepts = attribute ? [] : CONCEPTS.filter((c) => c.key(keyWords) && compatible(c));
  if (concepts.length) source = "key";
  const parentWords = parents.flatMap((p) => words(p.key));
  const inherits = parents.length > 0 && keyWords.every((w) => GENERIC.has(w));
  if (!concepts.length && inherits) {
    concepts = CONCEPTS.filter((c) => c.key([...parentWords, ...keyWords]) && compatible(c));
    if (concepts.length) source = "object";
  }
  // Descriptions are read up to a length no real one reaches, so a huge one costs little.
  const description = field.description && withoutNegations(field.description.slice(0, MAX_PROSE));
  const synonyms = [...synonymsIn(description), ...synonymsIn(field.title?.slice(0, MAX_PROSE))];
  if (!concepts.length && !attribute) {
    for (const [text, from] of [
      [field.title, "title"],
      [field["extend:name"], "title"],
      // The labels a description quotes say most plainly what it is.
      [synonyms.join(", "), "description"],
      [description, "description"],
      // A generic key ("name", "id", "dt") means what its object is about: what the
      // enclosing objects say, then the field ("The invoice itself" + "Its identifier"),
      // then the keys ("seller name"). An "addr" or "tax_id" inside a party stays its own.
      ...(inherits
        ? ([
            [
              [
                ...parents.map((p) =>
                  withoutNegations(
                    (p.field.description ?? p.field.title ?? "").slice(0, MAX_PROSE),
                  ),
                ),
                description ?? "",
              ].join(" "),
              "object",
            ],
            [
              [...parents.map((p) => p.key), key].map((k) => words(k).join(" ")).join(" "),
              "object",
            ],
          ] as const)
        : []),
    ] as const) {
      if (!text) continue;
      const named = conceptsNamedIn(text, base === "identifier" ? "identifier" : base).slice(0, 1);
      const loose = named.length
        ? named
        : base === "string"
          ? conceptsNamedIn(text, "identifier").slice(0, 1)
          : [];
      if (loose.length) {
        concepts = loose;
        source = from;
        break;
      }
    }
  }
  const first = concepts[0];
  // A concept settles how a plain string is read: an invoice number is an identifier and a
  // due date a date, whatever the key is called.
  const kind: Kind =
    first && base === "string" && first.kinds[0] !== "string"
      ? (first.kinds[0] as Kind)
      : first && base === "number" && first.kinds.includes("amount")
        ? "amount"
        : base;
  const human = keyWords.join(" ");
  const labels: Array<string | undefined> = [field["extend:name"]?.toLowerCase()];
  labels.push(field.title?.toLowerCase().replace(/[.:]+$/, ""));
  labels.push(...synonyms);
  // A key that names the concept is the likeliest label; an opaque one ("ref_a") the least.
  const keyLabels = [human];
  if (keyWords.at(-1) === "number" && keyWords.length > 1)
    keyLabels.push(`${keyWords.slice(0, -1).join(" ")} no`, `${keyWords.slice(0, -1).join(" ")} #`);
  if (source === "key" || source === "none") labels.push(...keyLabels);
  for (const concept of concepts) labels.push(...concept.labels);
  if (source !== "key" && source !== "none") labels.push(...keyLabels);
  const short = field.description
    ?.replace(/^(the|a|an)\s+/i, "")
    .replace(/\.$/, "")
    .toLowerCase();
  if (short && short.split(/\s+/).length <= 4) labels.push(short);
  if (keyWords.at(-1) === "name" && keyWords.length > 1)
    labels.push(keyWords.slice(0, -1).join(" "));
  return {
    concepts: concepts.map((c) => c.id),
    kind,
    labels: [...new Set(labels.filter((l): l is string => Boolean(l?.trim())))],
    source,
  };
}

/**
 * Option phrases of an enum field: each value as words ("credit_note" → "credit note"), and
 * what its description says of it, from a legacy config's option descriptions or from the
 * field's description ("PAID: the balance is zero; UNPAID (…)").
 */
export function enumPhrases(field: FieldSchema): Array<{ value: string; phrases: string[] }> {
  const values = (field.enum ?? []).filter((o): o is string => typeof o === "string");
  return values.map((value) => {
    const phrases = [value, value.replace(/[_-]+/g, " ")];
    const own = field["x-enum-descriptions"]?.[value];
    const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const inDescription = new RegExp(
      `(?:^|[^\\p{L}\\p{N}])${escaped}\\s*(?:[:=–—-]|\\()\\s*([^;.)]+)`,
      "iu",
    ).exec(field.description ?? "")?.[1];
    for (const text of [own, inDescription]) {
      if (!text) continue;
      phrases.push(...synonymsIn(text));
      // "settled, paid in full" names the option two ways.
      for (const part of text.split(/\s*(?:,|;|\bor\b)\s*/)) {
        const short = part
          .trim()
          .replace(/[.:]+$/, "")
          .toLowerCase();
        if (short && short.split(/\s+/).length <= 4) phrases.push(short);
      }
    }
    return { value, phrases: [...new Set(phrases.filter((p) => p.trim().length >= 2))] };
  });
}

/** The labels the vocabulary knows for a concept. */
export function conceptLabels(id: ConceptId): string[] {
  return CONCEPTS.find((c) => c.id === id)?.labels ?? [];
}
