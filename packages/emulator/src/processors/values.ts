// Turning the text next to a label into a typed value.

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

const SYMBOLS: Record<string, string> = {
  $: "USD",
  "€": "EUR",
  "£": "GBP",
  "₹": "INR",
  "¥": "JPY",
  "₩": "KRW",
  "₽": "RUB",
  zł: "PLN",
  kr: "SEK",
  CHF: "CHF",
  Rs: "INR",
};

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

/** An ISO 4217 code named in `text` by code or by symbol. */
export function currencyCode(text: string): string | null {
  const code = /\b([A-Z]{3})\b/.exec(text);
  if (code?.[1] && CODES.has(code[1])) return code[1];
  for (const [symbol, iso] of Object.entries(SYMBOLS)) {
    if (text.includes(symbol)) return iso;
  }
  return null;
}

/** A date in `text` as `yyyy-mm-dd`: ISO, numeric (US order unless the first part is over 12), or with a month name. */
export function parseDate(text: string): string | null {
  const iso = /\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b/.exec(text);
  if (iso) return ymd(+(iso[1] as string), +(iso[2] as string), +(iso[3] as string));
  const numeric = /\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})\b/.exec(text);
  if (numeric) {
    let [a, b] = [+(numeric[1] as string), +(numeric[2] as string)];
    const year = fullYear(+(numeric[3] as string));
    if (a > 12) [a, b] = [b, a];
    else if (text.includes(".")) [a, b] = [b, a]; // 21.03.2024 is day-first
    return ymd(year, a, b);
  }
  const lower = text.toLowerCase();
  const dayMonth = /\b(\d{1,2})(?:st|nd|rd|th)?[\s-]+([a-z]{3,9})\.?[\s,-]+(\d{2,4})\b/.exec(lower);
  if (dayMonth) {
    const month = MONTHS.indexOf((dayMonth[2] as string).slice(0, 3)) + 1;
    if (month) return ymd(fullYear(+(dayMonth[3] as string)), month, +(dayMonth[1] as string));
  }
  const monthDay = /\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b/.exec(lower);
  if (monthDay) {
    const month = MONTHS.indexOf((monthDay[1] as string).slice(0, 3)) + 1;
    if (month) return ymd(+(monthDay[3] as string), month, +(monthDay[2] as string));
  }
  return null;
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
