import type { Schemas } from "@extendkit/core";
import { ProcessingError } from "./errors.js";
import { type OcrEngine, type OcrRun, renderPageImage } from "./ocr.js";

/** A run of text within a line, separated from its neighbours by a column gap. */
export interface Cell {
  text: string;
  left: number;
  right: number;
}

/** A line of text on a page, in points from the top-left corner. */
export interface Line {
  text: string;
  left: number;
  top: number;
  right: number;
  bottom: number;
  /** Height of the line's text, a proxy for its font size. */
  size: number;
  /** The line's cells, left to right: text separated by gaps wider than 1.5 characters. */
  cells: Cell[];
}

export interface PageLayout {
  number: number;
  width: number;
  height: number;
  lines: Line[];
  /** The page is one table (a spreadsheet page): every line is a row. */
  tabular?: boolean;
  /** The worksheet a spreadsheet page comes from: its 0-based position in the workbook. */
  sheet?: number;
}

export interface DocumentLayout {
  pages: PageLayout[];
  warnings: string[];
}

/**
 * Reads the text of an image, in place of the built-in OCR (tesseract.js, when installed).
 * It gets uploaded images as they are, and each scanned PDF page (a page with no text layer)
 * rendered to a PNG; its text is laid out as lines of monospaced text.
 */
export type OcrFunction = (image: Uint8Array, file: { name: string }) => string | Promise<string>;

/** Letter paper, the page size given to documents that have none (text, HTML, CSV). */
const PAGE = { width: 612, height: 792, margin: 72, lineHeight: 14, linesPerPage: 48 };

/** Reads a document's text, line by line with positions, page by page. */
export async function readLayout(
  type: Schemas["FileType"] | undefined,
  bytes: Uint8Array,
  options: { ocr?: OcrFunction; name?: string; engine?: OcrEngine } = {},
): Promise<DocumentLayout> {
  switch (type) {
    case "PDF":
      return readPdf(bytes, options);
    case "IMG": {
      if (options.ocr) return textLayout(await options.ocr(bytes, { name: options.name ?? "" }));
      const read = options.engine
        ? await options.engine.read(bytes, PAGE.width)
        : { ok: false as const, reason: NO_OCR };
      // An image is a page as wide as letter paper, its height in proportion.
      return read.ok
        ? {
            pages: [
              { number: 1, width: read.width, height: read.height, lines: runsToLines(read.runs) },
            ],
            warnings: [],
          }
        : {
            pages: [{ number: 1, width: PAGE.width, height: PAGE.height, lines: [] }],
            warnings: [`The image was not read: ${read.reason}. Its text is empty.`],
          };
    }
    case "HTML":
      return textLayout(htmlToText(decode(bytes)));
    case "CSV":
      return csvLayout(decode(bytes));
    case "DOCX":
    case "EXCEL": {
      // Loaded on first use: the Office readers pull in mammoth, exceljs and an XML parser.
      const { readOffice } = await import("./office.js");
      return readOffice(type, bytes, options.name ?? "");
    }
    default:
      return textLayout(decode(bytes));
  }
}

function decode(bytes: Uint8Array) {
  return new TextDecoder("utf-8").decode(bytes).replace(/\r\n?/g, "\n");
}

/** Lays plain text out on letter pages: a form feed, or every 48 lines, starts a page. */
export function textLayout(text: string): DocumentLayout {
  const pages: PageLayout[] = [];
  for (const pageText of text.split("\f")) {
    const rows = pageText.replace(/\n+$/, "").split("\n");
    for (let start = 0; start < Math.max(rows.length, 1); start += PAGE.linesPerPage) {
      const lines: Line[] = [];
      rows.slice(start, start + PAGE.linesPerPage).forEach((row, i) => {
        const text = row.replace(/\t/g, "    ").trimEnd();
        if (!text.trim()) return;
        const top = PAGE.margin + i * PAGE.lineHeight;
        lines.push(monospacedLine(text, top));
      });
      pages.push({ number: pages.length + 1, width: PAGE.width, height: PAGE.height, lines });
    }
  }
  return { pages, warnings: [] };
}

/** A line of monospaced text (6 pt per character): two or more spaces separate cells. */
function monospacedLine(text: string, top: number): Line {
  const cells: Cell[] = [];
  for (const match of text.matchAll(/\S+(?: \S+)*/g)) {
    const left = PAGE.margin + (match.index ?? 0) * 6;
    cells.push({ text: match[0], left, right: left + match[0].length * 6 });
  }
  const first = cells[0] as Cell;
  const last = cells[cells.length - 1] as Cell;
  return {
    text: cells.map((c) => c.text).join("   "),
    left: first.left,
    top,
    right: last.right,
    bottom: top + 11,
    size: 11,
    cells,
  };
}

/** CSV rows as one table a page: see {@link rowsLayout}. */
export function csvLayout(text: string): DocumentLayout {
  return rowsLayout(parseCsv(text));
}

/**
 * Rows of cells (CSV records, a worksheet's rows) as lines whose cells are the fields: a
 * column every 120 pt, or wider where its longest field needs it (6 pt a character and a
 * gap), so no field reaches into the next column.
 *
 * A `tabular` layout (the default) makes every page one table and drops blank rows. Otherwise
 * (a worksheet laid out like a document: a title, label and value cells, a table further down)
 * the page's tables are found as on a PDF: blank rows stay as vertical space, `sizes` give
 * each row's text size (a large title reads as a heading), and a row of a single cell (a
 * title, a note) spills over the columns to its right, as in a spreadsheet, instead of
 * widening its column.
 */
export function rowsLayout(
  rows: string[][],
  options: { tabular?: boolean; sizes?: Array<number | undefined> } = {},
): DocumentLayout {
  const tabular = options.tabular ?? true;
  const filled = (row: string[]) => row.filter((field) => field.trim() !== "").length;
  let sized = rows.map((row, i) => ({ row, size: options.sizes?.[i] ?? 11 }));
  if (tabular) sized = sized.filter(({ row }) => filled(row) > 0);
  else {
    // Leading and trailing blank rows are no content; a run of blank rows is one gap.
    const first = sized.findIndex(({ row }) => filled(row) > 0);
    const last = sized.length - [...sized].reverse().findIndex(({ row }) => filled(row) > 0);
    sized = sized
      .slice(Math.max(first, 0), first < 0 ? 0 : last)
      .filter(({ row }, i, all) => filled(row) > 0 || filled(all[i - 1]?.row ?? []) > 0);
  }
  const measured = tabular ? sized : sized.filter(({ row }) => filled(row) > 1);
  // Loops, not Math.max(...rows): spreading a sheet of 150,000 rows overflows the stack.
  let columns = 0;
  for (const { row } of sized) columns = Math.max(columns, row.length);
  const longest = new Array<number>(columns).fill(0);
  for (const { row } of measured)
    row.forEach((text, column) => {
      longest[column] = Math.max(longest[column] as number, (text ?? "").trim().length);
    });
  const lefts = [36];
  for (let column = 0; column < columns; column++)
    lefts.push((lefts[column] as number) + Math.max(120, (longest[column] as number) * 6 + 18));
  const pages: PageLayout[] = [];
  let lines: Line[] = [];
  let count = 0;
  let top = PAGE.margin;
  let right = 36 + 120;
  const flush = () => {
    pages.push({
      number: pages.length + 1,
      width: Math.max(right, lefts[lefts.length - 1] as number),
      height: PAGE.height,
      lines,
      ...(tabular ? { tabular: true } : {}),
    });
    lines = [];
    count = 0;
    top = PAGE.margin;
  };
  for (const { row, size } of sized) {
    const advance = Math.max(PAGE.lineHeight, Math.ceil(size * 1.3));
    if (count === PAGE.linesPerPage || top + size > PAGE.height - 36) flush();
    count++;
    const cells = row
      .map((field, column) => ({
        text: field.trim(),
        left: lefts[column] as number,
        right: (lefts[column] as number) + (field.trim().length * (6 * size)) / 11,
      }))
      .filter((cell) => cell.text !== "");
    if (cells.length > 0) {
      lines.push({
        text: cells.map((c) => c.text).join("   "),
        left: cells[0]?.left ?? 36,
        top,
        right: cells[cells.length - 1]?.right ?? 36,
        bottom: top + size,
        size,
        cells,
      });
      right = Math.max(right, cells[cells.length - 1]?.right ?? 36);
    }
    top += advance;
  }
  if (lines.length > 0 || pages.length === 0) flush();
  return { pages, warnings: [] };
}

/** RFC 4180 fields: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * HTML as plain text for {@link textLayout}: headings become markdown headings (`# Title`),
 * tables lines of column-aligned cells, and block ends line breaks.
 */
export function htmlToText(html: string) {
  return decodeEntities(
    html
      .replace(/<(script|style)[\s\S]*?<\/\1>/gi, "")
      // Headings keep their level as markdown, which the parse reads as heading blocks.
      .replace(
        /<h([1-6])\b[^>]*>([\s\S]*?)<\/h\1>/gi,
        (_, level: string, text: string) =>
          `\n${"#".repeat(+level)} ${text
            .replace(/<[^>]+>/g, "")
            .replace(/\s+/g, " ")
            .trim()}\n`,
      )
      .replace(/<table\b[\s\S]*?<\/table>/gi, (table) => `\n${alignTable(table)}\n`)
      .replace(/<br\s*\/?>/gi, "\n")
      .replace(/<\/(p|div|h[1-6]|li|tr|table|section|article|header|footer)>/gi, "\n")
      .replace(/<\/t[dh]>/gi, "  ")
      .replace(/<[^>]+>/g, ""),
  )
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n");
}

const ENTITIES: Record<string, string> = {
  nbsp: " ",
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

/** Decodes the common named entities and numeric ones, in one pass (`&amp;lt;` is `&lt;`). */
function decodeEntities(text: string) {
  return text.replace(/&(#\d+|#x[\da-f]+|[a-z]+);/gi, (entity, name: string) => {
    if (name[0] !== "#") return ENTITIES[name.toLowerCase()] ?? entity;
    const code =
      name[1] === "x" || name[1] === "X" ? Number.parseInt(name.slice(2), 16) : +name.slice(1);
    return code === 160 ? " " : code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}

/**
 * An HTML table as lines of text whose cells line up in columns (each column as wide as its
 * longest cell, then three spaces), so the monospaced layout reads it as a table. The cells'
 * text stays escaped here; the page's entities are decoded afterwards.
 */
function alignTable(table: string): string {
  const rows = [...table.matchAll(/<tr\b[^>]*>([\s\S]*?)(?=<tr\b|<\/table>)/gi)].map((row) =>
    [
      ...(row[1] as string).matchAll(
        /<t([dh])\b[^>]*>([\s\S]*?)(?:<\/t\1>|(?=<t[dh]\b|<\/tr>|$))/gi,
      ),
    ].map((cell) =>
      decodeEntities(
        (cell[2] as string).replace(/<br\s*\/?>|<\/(?:p|div|li)>/gi, " ").replace(/<[^>]+>/g, ""),
      )
        .replace(/\s+/g, " ")
        .trim(),
    ),
  );
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  const escaped = (text: string) =>
    text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return rows
    .map((row) =>
      row
        .map((cell, i) => escaped(cell) + " ".repeat((widths[i] as number) - cell.length))
        .join("   ")
        .trimEnd(),
    )
    .join("\n");
}

interface TextItem {
  str: string;
  transform: number[];
  width: number;
  height: number;
}

/** Why an image or a scanned page went unread when no OCR engine is given. */
const NO_OCR = "no OCR is configured (the emulator's `ocr` option)";

async function readPdf(
  bytes: Uint8Array,
  options: { ocr?: OcrFunction; name?: string; engine?: OcrEngine },
): Promise<DocumentLayout> {
  const { getDocument, OPS } = await import("pdfjs-dist/legacy/build/pdf.mjs");
  let doc: Awaited<ReturnType<typeof getDocument>["promise"]>;
  try {
    doc = await getDocument({
      data: new Uint8Array(bytes),
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
      // An image larger than this is not decoded (a scanned page's is a few megapixels);
      // a PDF declaring a giant one would otherwise be decoded whole to look for text.
      maxImageSize: 50_000_000,
      verbosity: 0,
    }).promise;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "PasswordException") {
      throw new ProcessingError(
        "PASSWORD_PROTECTED_FILE",
        "The PDF is password-protected; remove the password and upload it again.",
      );
    }
    throw new ProcessingError(
      "CORRUPT_FILE",
      `The PDF cannot be read (${(error as Error).message}); check that the file is complete and not damaged.`,
    );
  }
  // Painting any of these means the page has an image that may be a scan.
  const imageOps = new Set<number>([
    OPS.paintImageXObject,
    OPS.paintInlineImageXObject,
    OPS.paintInlineImageXObjectGroup,
    OPS.paintImageXObjectRepeat,
    OPS.paintImageMaskXObject,
    OPS.paintImageMaskXObjectGroup,
    OPS.paintImageMaskXObjectRepeat,
  ]);
  try {
    const pages: PageLayout[] = [];
    const unread: Array<{ page: number; reason: string }> = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const viewport = page.getViewport({ scale: 1 });
      const content = await page.getTextContent();
      let lines = toLines(content.items as TextItem[], viewport.height);
      // A page with no text layer but an image is a scan: render it and read it with OCR,
      // one page at a time. A blank page has no image and costs nothing.
      if (
        lines.length === 0 &&
        (await page.getOperatorList()).fnArray.some((fn) => imageOps.has(fn))
      ) {
        const scanned = await readScannedPage(page, viewport.width, options);
        if ("lines" in scanned) lines = scanned.lines;
        else unread.push({ page: n, reason: scanned.reason });
      }
      pages.push({ number: n, width: viewport.width, height: viewport.height, lines });
      page.cleanup();
    }
    const warnings = unread.map(
      ({ page, reason }) =>
        `Page ${page} of the PDF has no text layer and was not read: ${reason}. Its text is empty.`,
    );
    // Every page of a long scan fails for the same reason: say it once.
    const first = unread[0];
    if (first && unread.every((u) => u.reason === first.reason) && unread.length > 1)
      return {
        pages,
        warnings: [
          `Pages ${unread.map((u) => u.page).join(", ")} of the PDF have no text layer and were not read: ${first.reason}. Their text is empty.`,
        ],
      };
    return { pages, warnings };
  } finally {
    await doc.destroy();
  }
}

/**
 * A scanned page's lines: the page rendered to a PNG and read by the user's `ocr` function
 * (as monospaced text) or by the OCR engine (with positions, scaled back to points).
 */
async function readScannedPage(
  page: Parameters<typeof renderPageImage>[0],
  width: number,
  options: { ocr?: OcrFunction; name?: string; engine?: OcrEngine },
): Promise<{ lines: Line[] } | { reason: string }> {
  if (!options.ocr && !options.engine) return { reason: NO_OCR };
  const image = await renderPageImage(page);
  if ("reason" in image) return image;
  if (options.ocr) {
    const text = await options.ocr(image.png, { name: options.name ?? "" });
    // Text longer than a page continues below it rather than over its first lines.
    const shift = PAGE.linesPerPage * PAGE.lineHeight;
    return {
      lines: textLayout(text.replace(/\f/g, "\n")).pages.flatMap((p, i) =>
        p.lines.map((line) => ({
          ...line,
          top: line.top + i * shift,
          bottom: line.bottom + i * shift,
        })),
      ),
    };
  }
  const read = await (options.engine as OcrEngine).read(image.png, width);
  return read.ok ? { lines: runsToLines(read.runs) } : { reason: read.reason };
}

/** A positioned run of text: a PDF text item, or a word read by OCR. */
type Run = Omit<OcrRun, "spaced"> & { spaced?: boolean };

/** Groups positioned text runs into lines: runs whose baselines are within half a line. */
function toLines(items: TextItem[], pageHeight: number): Line[] {
  return runsToLines(
    items
      .filter((item) => typeof item.str === "string" && item.str.trim() !== "")
      .map((item) => {
        const size = Math.abs(item.transform[3] ?? item.height) || item.height || 10;
        const left = item.transform[4] ?? 0;
        const baseline = pageHeight - (item.transform[5] ?? 0);
        return {
          text: item.str,
          left,
          right: left + item.width,
          top: baseline - size,
          bottom: baseline,
          size,
        };
      }),
  );
}

/**
 * Lines of runs whose baselines are within half a line, left to right; within a line, a gap
 * wider than 1.5 characters starts a new cell.
 */
function runsToLines(unsorted: Run[]): Line[] {
  const runs = [...unsorted].sort((a, b) => a.bottom - b.bottom || a.left - b.left);
  const lines: Line[] = [];
  let current: Run[] = [];
  const flush = () => {
    if (current.length === 0) return;
    current.sort((a, b) => a.left - b.left);
    const cells: Cell[] = [];
    let cell: Cell | undefined;
    for (const run of current) {
      const gap = cell ? run.left - cell.right : 0;
      // A wide gap is a column break: it starts a new cell.
      if (!cell || gap > run.size * 1.5) {
        cell = { text: run.text.trim(), left: run.left, right: run.right };
        cells.push(cell);
        continue;
      }
      // OCR words always take a space; PDF runs only when apart (a run may be half a word).
      const space =
        (run.spaced || gap > run.size * 0.15) &&
        !cell.text.endsWith(" ") &&
        !run.text.startsWith(" ");
      cell.text = (cell.text + (space ? " " : "") + run.text).trim();
      cell.right = Math.max(cell.right, run.right);
    }
    const kept = cells.filter((c) => c.text !== "");
    lines.push({
      text: kept.map((c) => c.text).join("   "),
      cells: kept,
      left: Math.min(...current.map((r) => r.left)),
      right: Math.max(...current.map((r) => r.right)),
      top: Math.min(...current.map((r) => r.top)),
      bottom: Math.max(...current.map((r) => r.bottom)),
      size: Math.max(...current.map((r) => r.size)),
    });
    current = [];
  };
  for (const run of runs) {
    const last = current[current.length - 1];
    if (last && Math.abs(run.bottom - last.bottom) > Math.max(2, last.size * 0.5)) flush();
    current.push(run);
  }
  flush();
  return lines;
}

/** The text of one page, a line per line. */
export function pageText(page: PageLayout) {
  return page.lines.map((line) => line.text).join("\n");
}
