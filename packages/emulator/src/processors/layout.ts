import type { Schemas } from "@extendkit/core";
import { ProcessingError } from "./errors.js";

/** A line of text on a page, in points from the top-left corner. */
export interface Line {
  text: string;
  left: number;
  top: number;
  right: number;
  bottom: number;
  /** Height of the line's text, a proxy for its font size. */
  size: number;
}

export interface PageLayout {
  number: number;
  width: number;
  height: number;
  lines: Line[];
}

export interface DocumentLayout {
  pages: PageLayout[];
  warnings: string[];
}

/** Letter paper, the page size given to documents that have none (text, HTML, CSV). */
const PAGE = { width: 612, height: 792, margin: 72, lineHeight: 14, linesPerPage: 48 };

/** Reads a document's text, line by line with positions, page by page. */
export async function readLayout(
  type: Schemas["FileType"] | undefined,
  bytes: Uint8Array,
): Promise<DocumentLayout> {
  switch (type) {
    case "PDF":
      return readPdf(bytes);
    case "IMG":
      return {
        pages: [{ number: 1, width: PAGE.width, height: PAGE.height, lines: [] }],
        warnings: [
          "Images are stored but not read: the emulator has no OCR, so the text is empty.",
        ],
      };
    case "HTML":
      return textLayout(htmlToText(decode(bytes)));
    case "DOCX":
    case "EXCEL":
      throw new ProcessingError(
        "FILE_TYPE_NOT_SUPPORTED",
        `The emulator cannot read ${type} files; convert them to PDF first (the service does this itself).`,
      );
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
        const indent = text.length - text.trimStart().length;
        const top = PAGE.margin + i * PAGE.lineHeight;
        const left = PAGE.margin + indent * 6;
        lines.push({
          text: text.trim(),
          left,
          top,
          right: left + text.trim().length * 6,
          bottom: top + 11,
          size: 11,
        });
      });
      pages.push({ number: pages.length + 1, width: PAGE.width, height: PAGE.height, lines });
    }
  }
  return { pages, warnings: [] };
}

function htmlToText(html: string) {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, "")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|h[1-6]|li|tr|table|section|article|header|footer)>/gi, "\n")
    .replace(/<\/t[dh]>/gi, "  ")
    .replace(/<[^>]+>/g, "")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n");
}

interface TextItem {
  str: string;
  transform: number[];
  width: number;
  height: number;
}

async function readPdf(bytes: Uint8Array): Promise<DocumentLayout> {
  const { getDocument } = await import("pdfjs-dist/legacy/build/pdf.mjs");
  let doc: Awaited<ReturnType<typeof getDocument>["promise"]>;
  try {
    doc = await getDocument({
      data: new Uint8Array(bytes),
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
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
  try {
    const pages: PageLayout[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const viewport = page.getViewport({ scale: 1 });
      const content = await page.getTextContent();
      pages.push({
        number: n,
        width: viewport.width,
        height: viewport.height,
        lines: toLines(content.items as TextItem[], viewport.height),
      });
      page.cleanup();
    }
    return { pages, warnings: [] };
  } finally {
    await doc.destroy();
  }
}

/** Groups positioned text runs into lines: runs whose baselines are within half a line. */
function toLines(items: TextItem[], pageHeight: number): Line[] {
  const runs = items
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
    })
    .sort((a, b) => a.bottom - b.bottom || a.left - b.left);
  const lines: Line[] = [];
  let current: typeof runs = [];
  const flush = () => {
    if (current.length === 0) return;
    current.sort((a, b) => a.left - b.left);
    let text = "";
    let lastRight: number | undefined;
    for (const run of current) {
      if (lastRight !== undefined) {
        const gap = run.left - lastRight;
        // A wide gap is a column break: keep it visible so tables stay readable.
        text +=
          gap > run.size * 1.5
            ? "   "
            : gap > run.size * 0.15 && !text.endsWith(" ") && !run.text.startsWith(" ")
              ? " "
              : "";
      }
      text += run.text;
      lastRight = run.right;
    }
    lines.push({
      text: text.trim(),
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
