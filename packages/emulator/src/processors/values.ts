// Turning the text next to a label into a typed value.

/** Month names in English, French, German, Dutch, Spanish and Italian (accents removed). */
const MONTH_NAMES: Record<string, number> = {};
for (const names of [
  "january february march april may june july august september october november december",
  "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
  "januar februar marz april mai juni juli august september oktober november dezember",
  "januari februari maart april mei juni juli augustus september oktober november december",
  "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
  "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
  "jan feb mar apr may jun jul aug sep oct nov dec",
]) {
  names.split(" ").forEach((name, i) => {
    MONTH_NAMES[name] = i + 1;
  });
}
MONTH_NAMES.sept = 9;

function monthOf(word: string): number | undefined {
  const plain = word
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/\.$/, "");
  return MONTH_NAMES[plain];
}

/** Currency signs that cannot be mistaken for letters in a word. */
const SIGNS: Record<string, string> = {
  $: "USD",
  "€": "EUR",
  "£": "GBP",
  "₹": "INR",
  "¥": "JPY",
  "₩": "KRW",
  "₽": "RUB",
};

/** Currency words and abbreviations, matched as whole words. */
const WORDS: Array<[RegExp, string]> = [
  [/\b(?:us dollars?|dollars?)\b/i, "USD"],
  [/\beuros?\b/i, "EUR"],
  [/\b(?:pounds? sterling)\b/i, "GBP"],
  [/\b(?:rupees?|rs\.?)(?=[\s\d-]|$)/i, "INR"],
  [/(?:^|\s)zł(?=\s|$)/u, "PLN"],
];

const CODES = new Set(
  "USD EUR GBP INR JPY CNY CAD AUD CHF SEK NOK DKK PLN CZK HUF RUB BRL MXN ZAR SGD HKD NZD KRW TRY AED SAR".split(
    " ",
  ),
);

/** The first number in `text`: handles `1,234.56`, `1.234,56`, `1 234,56`, `(12.00)` and signs. */
export function parseNumber(text: string): number | null {
  const match = /\(?-?\s?\d[\d.,'\s]*\d\)?|\(?-?\d\)?/.exec(text.replace(/[\u00a0\u202f]/g, " "));
  if (!match) return null;
  let raw = match[0].trim();
  const negative = (raw.startsWith("(") && raw.endsWith(")")) || raw.startsWith("-");
  raw = raw.replace(/[()\-\s']/g, "");
  const lastComma = raw.lastIndexOf(",");
  const lastDot = raw.lastIndexOf(".");
  if (lastComma > lastDot) {
    // A comma followed by exactly two digits at the end is a decimal comma.
    raw = /,\d{1,2}$/.test(raw) ? raw.replace(/\./g, "").replace(",", ".") : raw.replace(/,/g, "");
  } else {
    raw = raw.replace(/,/g, "");
    // "1.234.567" uses dots as thousands separators.
    if ((raw.match(/\./g) ?? []).length > 1) raw = raw.replace(/\./g, "");
  }
  const value = Number(raw);
  if (!Number.isFinite(value)) return null;
  return negative ? -value : value;
}

/** An ISO 4217 code named in `text` by code, sign or word. */
export function currencyCode(text: string): string | null {
  for (const match of text.matchAll(/\b([A-Z]{3})\b/g)) {
    if (CODES.has(match[1] as string)) return match[1] as string;
  }
  for (const [sign, iso] of Object.entries(SIGNS)) {
    if (text.includes(sign)) return iso;
  }
  for (const [pattern, iso] of WORDS) {
    if (pattern.test(text)) return iso;
  }
  return null;
}

/** Numbers in `text` that look like money: with decimals or next to a currency sign or code. */
export function amountsIn(text: string): Array<{ value: number; money: boolean }> {
  const out: Array<{ value: number; money: boolean }> = [];
  const pattern =
    /-?\(?\d{1,3}(?:[ .,\u00a0']\d{3})+(?:[.,]\d{1,2})?\)?|-?\(?\d+(?:[.,]\d{1,2})?\)?/g;
  for (const match of text.matchAll(pattern)) {
    const raw = match[0];
    const index = match.index ?? 0;
    // A number glued to letters (an id such as INV2023 or a postcode D-63571) is not an amount.
    const before = text[index - 1] ?? " ";
    const after = text[index + raw.length] ?? " ";
    if (/[A-Za-z_/]/.test(before) || /[A-Za-z_/]/.test(after)) continue;
    const value = parseNumber(raw);
    if (value === null) continue;
    // Money has cents, or a currency sign or code right before or after it.
    const left = text.slice(Math.max(0, index - 5), index);
    const right = text.slice(index + raw.length, index + raw.length + 5);
    const marked =
      /(?:[$€£₹¥]|\b[A-Z]{3}|\bRs\.?)\s?$/.test(left) && currencyCode(left) !== null
        ? true
        : /^\s?(?:[$€£₹¥]|[A-Z]{3}\b|zł)/u.test(right) && currencyCode(right) !== null;
    const money = /[.,]\d{2}\)?$/.test(raw) || marked;
    out.push({ value, money });
  }
  return out;
}

/**
 * The first date in `text` as `yyyy-mm-dd`: ISO; numeric (month first, unless `order` is
 * "dmy", the first part is over 12, or the parts are separated by dots); or with a month name in English,
 * French, German, Dutch, Spanish or Italian ("7. Mai 2014", "August 3 , 2014").
 */
export type DateOrder = "mdy" | "dmy";

export function parseDate(text: string, order: DateOrder = "mdy"): string | null {
  const found: Array<{ index: number; value: string | null }> = [];
  for (const m of text.matchAll(/\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b/g)) {
    found.push({
      index: m.index ?? 0,
      value: ymd(+(m[1] as string), +(m[2] as string), +(m[3] as string)),
    });
  }
  for (const m of text.matchAll(/\b(\d{1,2})([-/.])(\d{1,2})\2(\d{2,4})\b/g)) {
    let [a, b] = [+(m[1] as string), +(m[3] as string)];
    if (a > 12 || (b <= 12 && (m[2] === "." || order === "dmy"))) [a, b] = [b, a];
    found.push({ index: m.index ?? 0, value: ymd(fullYear(+(m[4] as string)), a, b) });
  }
  for (const m of text.matchAll(
    /\b(\d{1,2})(?:st|nd|rd|th|er|\.)?[\s-]+(\p{L}{3,12})\.?[\s,-]+(\d{4}|\d{2})\b/gu,
  )) {
    const month = monthOf(m[2] as string);
    if (month)
      found.push({
        index: m.index ?? 0,
        value: ymd(fullYear(+(m[3] as string)), month, +(m[1] as string)),
      });
  }
  for (const m of text.matchAll(
    /(\p{L}{3,12})\.?\s+(\d{1,2})(?:st|nd|rd|th)?\s*,?\s+(\d{4})\b/gu,
  )) {
    const month = monthOf(m[1] as string);
    if (month)
      found.push({ index: m.index ?? 0, value: ymd(+(m[3] as string), month, +(m[2] as string)) });
  }
  const valid = found.filter((f) => f.value !== null).sort((x, y) => x.index - y.index);
  return valid[0]?.value ?? null;
}

function fullYear(year: number) {
  return year < 100 ? 2000 + year : year;
}

function ymd(year: number, month: number, day: number): string | null {
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1) return null;
  return date.toISOString().slice(0, 10);
}

export function parseBoolean(text: string): boolean | null {
  const t = text.trim().toLowerCase();
  if (/^(yes|y|true|x|\[x\]|☑|✓|checked|signed)\b/.test(t)) return true;
  if (/^(no|n|false|\[ \]|☐|unchecked|unsigned)\b/.test(t)) return false;
  return null;
}
