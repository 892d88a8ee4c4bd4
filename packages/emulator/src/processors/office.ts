/**
 * Word, Excel and PowerPoint documents (Office Open XML: .docx, .xlsx, .pptx) as page layouts.
 * The libraries are imported on first use, so the emulator starts without loading them.
 */
import type { Schemas } from "@extendkit/core";
import { ProcessingError } from "./errors.js";
import {
  type Cell,
  type DocumentLayout,
  htmlToText,
  type Line,
  type PageLayout,
  rowsLayout,
  textLayout,
} from "./layout.js";

type OfficeKind = "docx" | "xlsx" | "pptx";

const OLE_SIGNATURE = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

/** What to save a legacy or foreign file as, by its extension. */
const SAVE_AS: Record<string, string> = {
  doc: "Word (.docx)",
  dot: "Word (.docx)",
  wpd: "Word (.docx)",
  odt: "Word (.docx)",
  xls: "Excel (.xlsx)",
  xlt: "Excel (.xlsx)",
  xlsb: "Excel (.xlsx)",
  ods: "Excel (.xlsx)",
  ppt: "PowerPoint (.pptx)",
  pps: "PowerPoint (.pptx)",
  odp: "PowerPoint (.pptx)",
};

function saveAs(name: string) {
  const extension = name.toLowerCase().split(".").pop() ?? "";
  const format = SAVE_AS[extension] ?? "Word (.docx), Excel (.xlsx) or PowerPoint (.pptx)";
  return `save it as ${format} or as PDF and upload it again`;
}

function unsupported(what: string, name: string): ProcessingError {
  return new ProcessingError(
    "FILE_TYPE_NOT_SUPPORTED",
    `${what} cannot be read; only Office Open XML documents (.docx, .xlsx, .pptx) can: ${saveAs(name)}.`,
  );
}

function corrupt(kind: string, error: unknown): ProcessingError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ProcessingError(
    "CORRUPT_FILE",
    `The ${kind} file cannot be read (${reason}); check that the file is complete and not damaged.`,
  );
}

/**
 * Reads a Word (.docx), Excel (.xlsx) or PowerPoint (.pptx) document, whichever the zip holds
 * (a .pptx is typed DOCX, as the service types it): Word as text pages with headings and
 * tables, each worksheet as rows of cells, each slide as a page. Legacy binary files (.doc,
 * .xls, .ppt) and OpenDocument files are refused with FILE_TYPE_NOT_SUPPORTED, damaged ones
 * with CORRUPT_FILE.
 */
export async function readOffice(
  type: Schemas["FileType"],
  bytes: Uint8Array,
  name: string,
): Promise<DocumentLayout> {
  if (OLE_SIGNATURE.every((b, i) => bytes[i] === b)) {
    // A password-protected .docx/.xlsx/.pptx is an encrypted package inside an OLE file.
    if (Buffer.from(bytes).includes(Buffer.from("EncryptedPackage", "utf16le"))) {
      throw new ProcessingError(
        "PASSWORD_PROTECTED_FILE",
        "The Office document is password-protected; remove the password and upload it again.",
      );
    }
    throw unsupported(`"${name}" is a legacy binary Office file (.doc, .xls or .ppt), which`, name);
  }
  const label = type === "EXCEL" ? "Excel" : "Word or PowerPoint";
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    const extension = name.toLowerCase().split(".").pop() ?? "";
    if (extension === "wpd") throw unsupported(`"${name}" is a WordPerfect file, which`, name);
    throw corrupt(label, new Error("it is not a zip archive, as .docx, .xlsx and .pptx files are"));
  }
  const kind = await zipKind(bytes, name, label);
  try {
    if (kind === "docx") return await readDocx(bytes);
    if (kind === "xlsx") return await readXlsx(bytes);
    return await readPptx(bytes);
  } catch (error) {
    if (error instanceof ProcessingError) throw error;
    throw corrupt(KIND_NAMES[kind], error);
  }
}

/** The most an Office file may inflate to, all its parts together: far above any real document. */
const MAX_INFLATED = 128 * 1024 * 1024;

const megabytes = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MB`;

const KIND_NAMES: Record<OfficeKind, string> = { docx: "Word", xlsx: "Excel", pptx: "PowerPoint" };

/** Which document the zip holds, by its parts (not its name): a misnamed file still reads. */
async function zipKind(bytes: Uint8Array, name: string, label: string): Promise<OfficeKind> {
  const { unzipSync, Unzip, UnzipInflate } = await import("fflate");
  const names = new Set<string>();
  let declared = 0;
  try {
    // Only the central directory is read: the filter declines to inflate any entry.
    unzipSync(bytes, {
      filter: (file) => {
        names.add(file.name);
        declared += file.originalSize;
        return false;
      },
    });
  } catch (error) {
    throw corrupt(label, error);
  }
  const tooLarge = (what: string) =>
    new ProcessingError(
      "FILE_SIZE_TOO_LARGE",
      `The ${label} file ${what} more than the ${megabytes(MAX_INFLATED)} the emulator reads uncompressed; split the document or save it as PDF.`,
    );
  // A few kilobytes of zip can declare gigabytes (a zip bomb): refuse before inflating.
  if (declared > MAX_INFLATED) throw tooLarge(`declares ${megabytes(declared)} uncompressed,`);
  // A bomb may also declare small sizes and inflate to gigabytes, which the readers' own
  // unzips only find out once it is all in memory: inflate every part once, counting and
  // keeping nothing, and stop at the cap.
  let inflated = 0;
  let failure: unknown;
  try {
    const stream = new Unzip((file) => {
      file.ondata = (error, chunk) => {
        if (error) {
          failure ??= error;
          return;
        }
        inflated += chunk.length;
        if (inflated > MAX_INFLATED) file.terminate();
      };
      if (inflated <= MAX_INFLATED) file.start();
    });
    stream.register(UnzipInflate);
    stream.push(bytes, true);
  } catch (error) {
    failure ??= error;
  }
  if (inflated > MAX_INFLATED) throw tooLarge("inflates to");
  if (failure) throw corrupt(label, failure);
  if (names.has("word/document.xml")) return "docx";
  if (names.has("xl/workbook.xml")) return "xlsx";
  if (names.has("ppt/presentation.xml")) return "pptx";
  if (names.has("xl/workbook.bin"))
    throw unsupported(`"${name}" is a binary Excel workbook (.xlsb), which`, name);
  if (names.has("content.xml") || names.has("mimetype"))
    throw unsupported(`"${name}" is an OpenDocument file (.odt, .ods or .odp), which`, name);
  if (names.has("[Content_Types].xml"))
    throw corrupt(label, new Error("the package holds no Word document, workbook or presentation"));
  throw unsupported(`"${name}" is a zip archive but no Office document, and`, name);
}

// ---------------------------------------------------------------------------------------------
// Word

/** The Word styles that title a document read as headings too (mammoth maps Heading 1-6). */
const DOCX_STYLES = [
  "p[style-name='Title'] => h1:fresh",
  "p[style-name='Subtitle'] => h2:fresh",
  // A page break becomes a marker that starts a new page.
  "br[type='page'] => hr.page-break",
];

/** Marks the end of a table in the text (a private-use character no document writes). */
const TABLE_END = "\uE000";

/** A Word document as mammoth's HTML, laid out as text: headings, paragraphs, aligned tables. */
async function readDocx(bytes: Uint8Array): Promise<DocumentLayout> {
  const { default: mammoth } = await import("mammoth");
  const result = await mammoth.convertToHtml(
    { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
    {
      styleMap: DOCX_STYLES,
      // Images carry no text here; skip encoding them as data URIs.
      convertImage: mammoth.images.imgElement(async () => ({ src: "" })),
    },
  );
  const html = result.value
    .replace(/<hr class="page-break"\s*\/?>/g, "\f")
    .replace(/<\/table>/g, `</table><p>${TABLE_END}</p>`);
  // A Word table ends where it ends: two blank lines after it keep the lines that follow (a
  // heading, a paragraph of two cells) from reading as more of its rows.
  return textLayout(htmlToText(html).replace(new RegExp(`\n*${TABLE_END}\n*`, "g"), "\n\n\n"));
}

// ---------------------------------------------------------------------------------------------
// Excel

/**
 * Each visible worksheet as its own pages, rows of the cells' displayed text. A sheet whose
 * first row is its widest (a header over records) is one table a page, like a CSV; any other
 * sheet (a form, an invoice: a title, label and value cells, a table lower down) is laid out
 * like a document page, its tables found where they stand. Sheet names are not printed, as
 * Excel does not print them either.
 */
async function readXlsx(bytes: Uint8Array): Promise<DocumentLayout> {
  const { default: ExcelJS } = await import("exceljs");
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as ArrayBuffer,
  );
  const date1904 = Boolean((workbook.properties as { date1904?: boolean } | undefined)?.date1904);
  const pages: PageLayout[] = [];
  for (const [index, sheet] of workbook.worksheets.entries()) {
    if (sheet.state !== "visible" && sheet.state !== undefined) continue;
    const hiddenColumns = new Set<number>();
    for (let c = 1; c <= sheet.columnCount; c++)
      if (sheet.getColumn(c).hidden) hiddenColumns.add(c);
    const rows: string[][] = [];
    const sizes: Array<number | undefined> = [];
    for (let r = 1; r <= sheet.rowCount; r++) {
      const row = sheet.findRow(r);
      if (row?.hidden) continue;
      const cells: string[] = [];
      let size: number | undefined;
      row?.eachCell({ includeEmpty: false }, (cell, column) => {
        if (hiddenColumns.has(column)) return;
        // A merged range shows its value once, in its top-left cell.
        if (cell.isMerged && cell.master.address !== cell.address) return;
        let text: string;
        try {
          text = cellText(cell.value, cell.numFmt, date1904);
        } catch {
          // A value its format cannot show (a date serial of 1e300) is one odd cell, not a
          // damaged workbook: show it unformatted.
          text = String(cell.text ?? "");
        }
        if (text === "") return;
        cells[column - 1 - countBelow(hiddenColumns, column)] = text;
        const points = cell.font?.size;
        if (typeof points === "number") size = Math.max(size ?? 0, points);
      });
      rows.push(Array.from(cells, (text) => text ?? ""));
      sizes.push(size);
    }
    if (!rows.some((row) => row.some((text) => text !== ""))) continue;
    const counts = rows.map((row) => row.filter((text) => text !== "").length);
    const first = counts.find((n) => n > 0) ?? 0;
    const tabular = first >= 2 && counts.every((n) => n <= first);
    for (const page of rowsLayout(rows, { tabular, sizes }).pages)
      pages.push({ ...page, number: pages.length + 1, sheet: index });
  }
  if (pages.length === 0) return textLayout("");
  return { pages, warnings: [] };
}

function countBelow(set: Set<number>, n: number) {
  let count = 0;
  for (const value of set) if (value < n) count++;
  return count;
}

/** A cell's value as Excel shows it: formatted numbers and dates, formula results, rich text. */
function cellText(value: unknown, numFmt: string | undefined, date1904: boolean): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return formatNumber(value, numFmt, date1904);
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  if (value instanceof Date)
    // A serial no calendar holds (exceljs makes it an invalid Date): Excel shows #####.
    return Number.isNaN(value.getTime())
      ? "#####"
      : formatDate(value, dateFormat(numFmt) ?? "yyyy-mm-dd");
  if (typeof value === "object") {
    const v = value as {
      result?: unknown;
      formula?: string;
      sharedFormula?: string;
      richText?: Array<{ text: string }>;
      text?: unknown;
      error?: string;
    };
    if ("formula" in v || "sharedFormula" in v) return cellText(v.result, numFmt, date1904);
    if (Array.isArray(v.richText)) return v.richText.map((run) => run.text).join("");
    if (v.text !== undefined) return cellText(v.text, numFmt, date1904);
    if (typeof v.error === "string") return v.error;
  }
  return "";
}

/** A number format's sections (positive;negative;zero;text), split outside quotes and brackets. */
function sections(format: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] as string;
    if (ch === '"') {
      const end = format.indexOf('"', i + 1);
      const stop = end < 0 ? format.length : end;
      current += format.slice(i, stop + 1);
      i = stop;
    } else if (ch === "\\" || ch === "_" || ch === "*") {
      current += format.slice(i, i + 2);
      i++;
    } else if (ch === "[") {
      const end = format.indexOf("]", i);
      const stop = end < 0 ? format.length : end;
      current += format.slice(i, stop + 1);
      i = stop;
    } else if (ch === ";") {
      out.push(current);
      current = "";
    } else current += ch;
  }
  out.push(current);
  return out;
}

/** The format with its literals spelt out: quoted text, escapes, currency brackets kept; padding, fills, colours dropped. */
function literalTokens(section: string): Array<{ literal: boolean; text: string }> {
  const tokens: Array<{ literal: boolean; text: string }> = [];
  const push = (literal: boolean, text: string) => {
    const last = tokens[tokens.length - 1];
    if (last && last.literal === literal) last.text += text;
    else tokens.push({ literal, text });
  };
  for (let i = 0; i < section.length; i++) {
    const ch = section[i] as string;
    if (ch === '"') {
      const end = section.indexOf('"', i + 1);
      const stop = end < 0 ? section.length : end;
      push(true, section.slice(i + 1, stop));
      i = stop;
    } else if (ch === "\\") {
      push(true, section[i + 1] ?? "");
      i++;
    } else if (ch === "_" || ch === "*") {
      i++; // Padding to a character's width and repeated fill show nothing in text.
    } else if (ch === "[") {
      const end = section.indexOf("]", i);
      const stop = end < 0 ? section.length : end;
      const inside = section.slice(i + 1, stop);
      // [$€-407] is a currency symbol and locale; [Red] and [>=100] show nothing.
      if (inside.startsWith("$")) push(true, inside.slice(1).split("-")[0] ?? "");
      else if (/^h+$|^m+$|^s+$/i.test(inside)) push(false, inside);
      i = stop;
    } else if ("$-+/():!^&'~{}<>= ".includes(ch)) push(true, ch);
    else push(false, ch);
  }
  return tokens;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** The section of a format that shows dates, if it is a date format. */
function dateFormat(numFmt: string | undefined): string | undefined {
  if (!numFmt) return undefined;
  const section = sections(numFmt)[0] ?? "";
  const code = literalTokens(section)
    .filter((t) => !t.literal)
    .map((t) => t.text)
    .join("");
  return /[ymdhs]/i.test(code) && !/[0#?]/.test(code.replace(/\.0+/g, "")) ? section : undefined;
}

/** A date as a format shows it (y, m, d, h, m, s, AM/PM), read in UTC as Excel dates carry no zone. */
function formatDate(date: Date, section: string): string {
  const parts: Array<{ literal: boolean; text: string }> = [];
  for (const token of literalTokens(section)) {
    if (token.literal) parts.push(token);
    else
      for (const m of token.text.matchAll(/AM\/PM|A\/P|y+|m+|d+|h+|s+|\.0+|./gi))
        parts.push({ literal: false, text: m[0] });
  }
  const twelveHour = parts.some((p) => !p.literal && /^(AM\/PM|A\/P)$/i.test(p.text));
  const codes = parts.map((p, i) => ({ ...p, index: i })).filter((p) => !p.literal);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return parts
    .map((part, i) => {
      if (part.literal) return part.text;
      const t = part.text.toLowerCase();
      const at = codes.findIndex((c) => c.index === i);
      const before = codes
        .slice(0, at)
        .reverse()
        .find((c) => /^[ymdhs]/i.test(c.text));
      const after = codes.slice(at + 1).find((c) => /^[ymdhs]/i.test(c.text));
      const hours = date.getUTCHours();
      switch (t[0]) {
        case "y":
          return t.length <= 2 ? pad(date.getUTCFullYear() % 100) : String(date.getUTCFullYear());
        case "m": {
          // "m" after hours or before seconds is minutes; otherwise it is the month.
          const minutes = /^h/i.test(before?.text ?? "") || /^s/i.test(after?.text ?? "");
          if (minutes && t.length <= 2)
            return t.length === 2 ? pad(date.getUTCMinutes()) : String(date.getUTCMinutes());
          const month = date.getUTCMonth();
          if (t.length === 1) return String(month + 1);
          if (t.length === 2) return pad(month + 1);
          if (t.length === 3) return (MONTHS[month] as string).slice(0, 3);
          if (t.length === 5) return (MONTHS[month] as string).slice(0, 1);
          return MONTHS[month] as string;
        }
        case "d": {
          if (t.length === 1) return String(date.getUTCDate());
          if (t.length === 2) return pad(date.getUTCDate());
          const weekday = WEEKDAYS[date.getUTCDay()] as string;
          return t.length === 3 ? weekday.slice(0, 3) : weekday;
        }
        case "h": {
          const h = twelveHour ? hours % 12 || 12 : hours;
          return t.length >= 2 ? pad(h) : String(h);
        }
        case "s":
          return t.length >= 2 ? pad(date.getUTCSeconds()) : String(date.getUTCSeconds());
        case "a":
          return t === "a/p" ? (hours < 12 ? "A" : "P") : hours < 12 ? "AM" : "PM";
        case ".":
          return `.${pad(date.getUTCMilliseconds(), 3).slice(0, t.length - 1)}`;
        default:
          return part.text;
      }
    })
    .join("");
}

/** Excel's General format: integers as they are, other numbers to 11 significant digits. */
function general(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e11) return String(value);
  return String(Number(value.toPrecision(11)));
}

/** A number as its format shows it: sections, thousands, decimals, percent, currency, dates. */
function formatNumber(value: number, numFmt: string | undefined, date1904: boolean): string {
  if (!numFmt || /^general$/i.test(numFmt.trim())) return general(value);
  // Beyond what a format can show (Excel itself shows ####): the plain number.
  if (!Number.isFinite(value) || Math.abs(value) >= 1e15) return String(value);
  const all = sections(numFmt);
  const dateSection = dateFormat(numFmt);
  if (dateSection) {
    // Serial day numbers: 1900-based (with Excel's phantom 29 Feb 1900) or 1904-based.
    const epoch = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 30);
    return formatDate(new Date(epoch + Math.round(value * 86_400_000)), dateSection);
  }
  let section = all[0] as string;
  let sign = value < 0 ? "-" : "";
  if (value < 0 && all[1] !== undefined && all[1] !== "") {
    section = all[1];
    sign = ""; // The negative section writes its own sign or parentheses.
  } else if (value === 0 && all[2] !== undefined && all[2] !== "") section = all[2];
  const tokens = literalTokens(section);
  const code = tokens
    .filter((t) => !t.literal)
    .map((t) => t.text)
    .join("");
  if (/e[+-]/i.test(code) || code.includes("/")) return general(value);
  if (!/[0#?]/.test(code)) {
    // A section of text only ("-" for zero, "n/a"): print it as it is.
    return tokens.map((t) => (t.literal ? t.text : t.text.replace(/@/g, ""))).join("");
  }
  const percent = (code.match(/%/g) ?? []).length;
  const [integerPart = "", decimalPart = ""] = code.replace(/%/g, "").split(".");
  // Commas right after the last digit placeholder scale by a thousand each.
  const scale = (integerPart.match(/,+$/)?.[0].length ?? 0) * 3;
  const grouped = /[0#?],+[0#?]/.test(integerPart);
  const required = (decimalPart.match(/0/g) ?? []).length;
  const optional = (decimalPart.match(/[#?]/g) ?? []).length;
  const minimumDigits = (integerPart.match(/0/g) ?? []).length;
  const scaled = (Math.abs(value) * 100 ** percent) / 10 ** scale;
  let [whole = "0", fraction = ""] = scaled.toFixed(required + optional).split(".");
  fraction = fraction.replace(new RegExp(`0{0,${optional}}$`), "");
  if (minimumDigits === 0 && whole === "0") whole = "";
  whole = whole.padStart(minimumDigits, "0");
  if (grouped) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const number = `${whole}${fraction || decimalPart.includes("0") ? `.${fraction}` : ""}`;
  // The number goes where its placeholders stand; literals before and after stay in place.
  let placed = false;
  const text = tokens
    .map((t) => {
      if (t.literal) return t.text;
      return t.text.replace(/[0#?,.]+/g, () => {
        if (placed) return "";
        placed = true;
        return number;
      });
    })
    .join("");
  return sign + text;
}

// ---------------------------------------------------------------------------------------------
// PowerPoint

type XmlNode = Record<string, unknown>;

const tagOf = (node: XmlNode) => Object.keys(node).find((key) => key !== ":@") ?? "";
const childrenOf = (node: XmlNode | undefined): XmlNode[] => {
  const value = node?.[tagOf(node)];
  return Array.isArray(value) ? (value as XmlNode[]) : [];
};
const child = (node: XmlNode | undefined, tag: string) =>
  childrenOf(node).find((c) => tagOf(c) === tag);
const all = (node: XmlNode | undefined, tag: string) =>
  childrenOf(node).filter((c) => tagOf(c) === tag);
const attr = (node: XmlNode | undefined, name: string) =>
  (node?.[":@"] as Record<string, string> | undefined)?.[name];
const path = (node: XmlNode | undefined, ...tags: string[]) =>
  tags.reduce<XmlNode | undefined>((at, tag) => child(at, tag), node);
const num = (text: string | undefined, fallback = 0) =>
  text === undefined || Number.isNaN(+text) ? fallback : +text;

/** Points per EMU (English Metric Unit): 12,700 EMU make a point. */
const EMU = 1 / 12_700;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Maps a group's child coordinates onto the slide. */
type Transform = (box: Box) => Box;

/** A piece of a line: a paragraph of a text box, or a table row of cells. */
interface Piece {
  cells: Cell[];
  top: number;
  bottom: number;
  size: number;
}

function xfrmBox(xfrm: XmlNode | undefined): Box | undefined {
  const off = child(xfrm, "a:off");
  const ext = child(xfrm, "a:ext");
  if (!off || !ext) return undefined;
  return {
    x: num(attr(off, "x")) * EMU,
    y: num(attr(off, "y")) * EMU,
    width: num(attr(ext, "cx")) * EMU,
    height: num(attr(ext, "cy")) * EMU,
  };
}

/** A placeholder's type and index: the keys by which a slide's placeholder finds its layout's. */
function placeholderOf(shape: XmlNode) {
  const ph = path(shape, "p:nvSpPr", "p:nvPr", "p:ph");
  if (!ph) return undefined;
  return { type: attr(ph, "type") ?? "body", idx: attr(ph, "idx") };
}

const TITLES = new Set(["title", "ctrTitle"]);

/**
 * A presentation's slides, each a page as large as the slide, in the slides' numeric order:
 * every paragraph a line where its text box stands, the title placeholder's text a heading,
 * a table's rows lines of cells at its columns. Hidden slides are left out.
 */
async function readPptx(bytes: Uint8Array): Promise<DocumentLayout> {
  const [{ unzipSync }, { XMLParser }] = await Promise.all([
    import("fflate"),
    import("fast-xml-parser"),
  ]);
  // Only the XML parts are inflated; the media can be large and hold no text.
  const files = unzipSync(bytes, {
    filter: (file) => file.name.endsWith(".xml") || file.name.endsWith(".rels"),
  });
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: "",
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
  });
  const decoder = new TextDecoder();
  const parsed = new Map<string, XmlNode[]>();
  const xml = (name: string): XmlNode[] => {
    let nodes = parsed.get(name);
    if (!nodes) {
      const data = files[name];
      nodes = data ? (parser.parse(decoder.decode(data)) as XmlNode[]) : [];
      parsed.set(name, nodes);
    }
    return nodes;
  };
  const root = (name: string, tag: string) => xml(name).find((n) => tagOf(n) === tag);

  const size = child(root("ppt/presentation.xml", "p:presentation"), "p:sldSz");
  const width = num(attr(size, "cx"), 9_144_000) * EMU;
  const height = num(attr(size, "cy"), 6_858_000) * EMU;

  /** The part a relationship of `part` points to, by its type's last word (slideLayout, slideMaster). */
  const related = (part: string, type: string) => {
    const folder = part.slice(0, part.lastIndexOf("/"));
    const rels = `${folder}/_rels/${part.slice(folder.length + 1)}.rels`;
    const target = all(root(rels, "Relationships"), "Relationship").find((r) =>
      (attr(r, "Type") ?? "").endsWith(`/${type}`),
    );
    const to = attr(target, "Target");
    if (!to) return undefined;
    const resolved: string[] = folder.split("/");
    for (const step of to.split("/")) {
      if (step === "..") resolved.pop();
      else if (step !== ".") resolved.push(step);
    }
    return resolved.join("/");
  };

  /** Where a placeholder without its own position stands: its layout's, else its master's. */
  const inherited = (slide: string, ph: { type: string; idx?: string | undefined }) => {
    const layout = related(slide, "slideLayout");
    const master = layout && related(layout, "slideMaster");
    for (const part of [layout, master]) {
      if (!part) continue;
      const tree = path(
        xml(part).find((n) => /^p:sld(Layout|Master)$/.test(tagOf(n))),
        "p:cSld",
        "p:spTree",
      );
      const shapes = all(tree, "p:sp");
      const match =
        shapes.find((s) => ph.idx !== undefined && placeholderOf(s)?.idx === ph.idx) ??
        shapes.find((s) => placeholderOf(s)?.type === ph.type) ??
        (TITLES.has(ph.type)
          ? shapes.find((s) => TITLES.has(placeholderOf(s)?.type ?? ""))
          : undefined);
      const box = xfrmBox(path(match, "p:spPr", "a:xfrm"));
      if (box) return box;
    }
    return undefined;
  };

  const pages: PageLayout[] = [];
  for (const name of slideOrder(files, root)) {
    const sld = root(name, "p:sld");
    if (!sld || attr(sld, "show") === "0") continue;
    const pieces: Piece[] = [];
    let flowTop = 0;
    const walk = (tree: XmlNode | undefined, transform: Transform) => {
      for (const node of childrenOf(tree)) {
        const tag = tagOf(node);
        if (tag === "p:sp") {
          const ph = placeholderOf(node);
          const own = xfrmBox(path(node, "p:spPr", "a:xfrm"));
          const box = own
            ? transform(own)
            : ((ph && inherited(name, ph)) ?? { x: 0, y: flowTop, width, height: 0 });
          const added = textBody(child(node, "p:txBody"), box, TITLES.has(ph?.type ?? ""));
          pieces.push(...added);
          flowTop = Math.max(flowTop, box.y + box.height, ...added.map((p) => p.bottom));
        } else if (tag === "p:graphicFrame") {
          const table = path(node, "a:graphic", "a:graphicData", "a:tbl");
          const own = xfrmBox(child(node, "p:xfrm"));
          if (table && own) pieces.push(...tableRows(table, transform(own)));
        } else if (tag === "p:grpSp") {
          const xfrm = path(node, "p:grpSpPr", "a:xfrm");
          const outer = xfrmBox(xfrm);
          const chOff = child(xfrm, "a:chOff");
          const chExt = child(xfrm, "a:chExt");
          if (!outer || !chOff || !chExt) {
            walk(node, transform);
            continue;
          }
          const cx = num(attr(chOff, "x")) * EMU;
          const cy = num(attr(chOff, "y")) * EMU;
          const sx = outer.width / (num(attr(chExt, "cx")) * EMU || outer.width || 1);
          const sy = outer.height / (num(attr(chExt, "cy")) * EMU || outer.height || 1);
          walk(node, (b) =>
            transform({
              x: outer.x + (b.x - cx) * sx,
              y: outer.y + (b.y - cy) * sy,
              width: b.width * sx,
              height: b.height * sy,
            }),
          );
        } else if (tag === "mc:AlternateContent") {
          walk(child(node, "mc:Choice") ?? child(node, "mc:Fallback"), transform);
        }
      }
    };
    walk(path(sld, "p:cSld", "p:spTree"), (box) => box);
    pages.push({ number: pages.length + 1, width, height, lines: piecesToLines(pieces) });
  }
  if (pages.length === 0) return { pages: [{ number: 1, width, height, lines: [] }], warnings: [] };
  return { pages, warnings: [] };
}

/**
 * The slides' parts in the order the deck shows them: the presentation's slide list
 * (`p:sldIdLst`, through its relationships), which a reordered deck changes while the part
 * names stay; by the number in their names where that list is missing.
 */
function slideOrder(
  files: Record<string, Uint8Array>,
  root: (name: string, tag: string) => XmlNode | undefined,
): string[] {
  const relationships = all(
    root("ppt/_rels/presentation.xml.rels", "Relationships"),
    "Relationship",
  );
  const listed = all(child(root("ppt/presentation.xml", "p:presentation"), "p:sldIdLst"), "p:sldId")
    .map((id) =>
      attr(
        relationships.find((r) => attr(r, "Id") === attr(id, "r:id")),
        "Target",
      ),
    )
    .filter((target): target is string => target !== undefined)
    .map((target) => (target.startsWith("/") ? target.slice(1) : `ppt/${target}`))
    .filter((name) => files[name] !== undefined);
  if (listed.length > 0) return listed;
  return Object.keys(files)
    .map((name) => ({ name, n: /^ppt\/slides\/slide(\d+)\.xml$/.exec(name)?.[1] }))
    .filter((s): s is { name: string; n: string } => s.n !== undefined)
    .sort((a, b) => +a.n - +b.n)
    .map((s) => s.name);
}

/** A paragraph's text, runs and fields joined; a line break inside it splits it. */
function paragraphTexts(p: XmlNode): { texts: string[]; size: number | undefined } {
  const texts = [""];
  let size: number | undefined;
  for (const node of childrenOf(p)) {
    const tag = tagOf(node);
    if (tag === "a:br") texts.push("");
    else if (tag === "a:r" || tag === "a:fld") {
      const sz = attr(child(node, "a:rPr"), "sz");
      if (sz !== undefined) size = Math.max(size ?? 0, num(sz) / 100);
      const text = childrenOf(child(node, "a:t"))
        .map((t) => (typeof t["#text"] === "string" ? t["#text"] : ""))
        .join("");
      texts[texts.length - 1] += text;
    }
  }
  if (size === undefined) {
    const sz = attr(child(p, "a:endParaRPr"), "sz");
    if (sz !== undefined) size = num(sz) / 100;
  }
  return { texts, size };
}

/** A text box's paragraphs as pieces of lines, stacked from its top (or centred, or bottom). */
function textBody(body: XmlNode | undefined, box: Box, title: boolean): Piece[] {
  if (!body) return [];
  const bodyPr = child(body, "a:bodyPr");
  const inset = (name: string, fallback: number) => num(attr(bodyPr, name), fallback) * EMU;
  const left = box.x + inset("lIns", 91_440);
  const right = box.x + box.width - inset("rIns", 91_440);
  const lines: Array<{ text: string; size: number; align: string | undefined }> = [];
  let numbered = 0;
  for (const p of all(body, "a:p")) {
    const pPr = child(p, "a:pPr");
    const { texts, size } = paragraphTexts(p);
    const points = size ?? (title ? 32 : 18);
    // Bullets are drawn by PowerPoint, not written in the text: spell them out.
    const bullet = child(pPr, "a:buChar")
      ? "• "
      : child(pPr, "a:buAutoNum")
        ? `${++numbered}. `
        : "";
    texts.forEach((text, i) => {
      const trimmed = text.replace(/\s+/g, " ").trim();
      if (trimmed === "") return;
      const prefix = title ? "# " : i === 0 ? bullet : "";
      lines.push({ text: prefix + trimmed, size: points, align: attr(pPr, "algn") });
    });
  }
  const height = lines.reduce((sum, line) => sum + line.size * 1.2, 0);
  const room = box.height - inset("tIns", 45_720) - inset("bIns", 45_720);
  const anchor = attr(bodyPr, "anchor");
  let top =
    box.y +
    inset("tIns", 45_720) +
    (anchor === "ctr"
      ? Math.max(0, (room - height) / 2)
      : anchor === "b"
        ? Math.max(0, room - height)
        : 0);
  return lines.map((line) => {
    // An average glyph is about half the text size wide.
    const width = Math.min(line.text.length * line.size * 0.5, Math.max(right - left, 0));
    const start =
      line.align === "r" ? right - width : line.align === "ctr" ? (left + right - width) / 2 : left;
    const piece = {
      cells: [{ text: line.text, left: start, right: start + width }],
      top,
      bottom: top + line.size,
      size: line.size,
    };
    top += line.size * 1.2;
    return piece;
  });
}

/** A table's rows as pieces of lines: each cell at its column's left, clipped to its column. */
function tableRows(table: XmlNode, box: Box): Piece[] {
  const widths = all(child(table, "a:tblGrid"), "a:gridCol").map((c) => num(attr(c, "w")) * EMU);
  const pieces: Piece[] = [];
  let top = box.y;
  for (const tr of all(table, "a:tr")) {
    const cells: Cell[] = [];
    let column = 0;
    let size = 0;
    for (const tc of all(tr, "a:tc")) {
      const span = Math.max(1, num(attr(tc, "gridSpan"), 1));
      const x = box.x + widths.slice(0, column).reduce((a, b) => a + b, 0);
      const cellWidth = widths.slice(column, column + span).reduce((a, b) => a + b, 0);
      column += span;
      // Cells covered by a merge repeat nothing.
      if (attr(tc, "hMerge") === "1" || attr(tc, "vMerge") === "1") continue;
      const paragraphs = all(child(tc, "a:txBody"), "a:p").map(paragraphTexts);
      const text = paragraphs
        .flatMap((p) => p.texts)
        .join(" ")
        .replace(/\s+/g, " ")
        .trim();
      const points = Math.max(0, ...paragraphs.map((p) => p.size ?? 0)) || 18;
      size = Math.max(size, points);
      if (text === "") continue;
      const margin = num(attr(child(tc, "a:tcPr"), "marL"), 91_440) * EMU;
      const left = x + margin;
      cells.push({
        text,
        left,
        right: left + Math.min(text.length * points * 0.5, Math.max(cellWidth - 2 * margin, 1)),
      });
    }
    const rowHeight = num(attr(tr, "h")) * EMU || size * 1.6;
    const rowTop = top + (rowHeight - size) / 2;
    if (cells.length > 0) pieces.push({ cells, top: rowTop, bottom: rowTop + size, size });
    top += rowHeight;
  }
  return pieces;
}

/** Pieces at the same height (text boxes side by side, table rows) joined into lines. */
function piecesToLines(pieces: Piece[]): Line[] {
  const sorted = [...pieces].sort(
    (a, b) => a.bottom - b.bottom || (a.cells[0]?.left ?? 0) - (b.cells[0]?.left ?? 0),
  );
  const lines: Line[] = [];
  let group: Piece[] = [];
  const flush = () => {
    if (group.length === 0) return;
    const cells = group.flatMap((p) => p.cells).sort((a, b) => a.left - b.left);
    lines.push({
      text: cells.map((c) => c.text).join("   "),
      cells,
      left: Math.min(...cells.map((c) => c.left)),
      right: Math.max(...cells.map((c) => c.right)),
      top: Math.min(...group.map((p) => p.top)),
      bottom: Math.max(...group.map((p) => p.bottom)),
      size: Math.max(...group.map((p) => p.size)),
    });
    group = [];
  };
  for (const piece of sorted) {
    const first = group[0];
    if (first && Math.abs(piece.bottom - first.bottom) > Math.max(2, first.size * 0.5)) flush();
    group.push(piece);
  }
  flush();
  return lines;
}
