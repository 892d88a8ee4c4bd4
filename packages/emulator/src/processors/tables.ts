import type { Cell, Line, PageLayout } from "./layout.js";

/** A table found in a page's layout: a header row and the rows under it, by column. */
export interface Table {
  /** Index in `page.lines` of the header line and of the last line of the table. */
  first: number;
  last: number;
  /** The header row's cells define the columns. */
  columns: Cell[];
  /** Every row (header first), one string per column ("" where a row has no cell there). */
  rows: string[][];
  lines: Line[];
}

const MIN_COLUMNS = 3;

/** The column a cell belongs to: the one its horizontal span overlaps most, else the nearest. */
export function columnOf(cell: Cell, columns: Cell[]): number {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  columns.forEach((column, i) => {
    const overlap = Math.min(cell.right, column.right) - Math.max(cell.left, column.left);
    const distance = Math.abs((cell.left + cell.right) / 2 - (column.left + column.right) / 2);
    const score = overlap > 0 ? overlap : -distance;
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best;
}

function toRow(line: Line, columns: Cell[]): string[] {
  const row = columns.map(() => "");
  for (const cell of line.cells) {
    const i = columnOf(cell, columns);
    row[i] = row[i] ? `${row[i]} ${cell.text}` : cell.text;
  }
  return row;
}

/**
 * Finds tables where the layout shows one: a line of at least three cells followed by
 * lines of at least two cells whose cells fall under its columns. Lines of a single cell
 * inside the table (wrapped descriptions, notes, section labels) stay in it when more
 * rows follow.
 */
export function findTables(page: PageLayout): Table[] {
  const tables: Table[] = [];
  const lines = page.lines;
  if (page.tabular && lines.length > 0) {
    // A spreadsheet page is one table whatever its width; its widest row defines the columns.
    const widest = lines.reduce((a, b) => (b.cells.length > a.cells.length ? b : a));
    const columns = widest.cells;
    return [
      {
        first: 0,
        last: lines.length - 1,
        columns,
        rows: lines.map((line) => toRow(line, columns)),
        lines,
      },
    ];
  }
  let i = 0;
  while (i < lines.length) {
    const header = lines[i] as Line;
    if (header.cells.length < MIN_COLUMNS) {
      i++;
      continue;
    }
    let last = i;
    let j = i + 1;
    while (j < lines.length) {
      const line = lines[j] as Line;
      const previous = lines[j - 1] as Line;
      if (line.top - previous.bottom > Math.max(previous.size, line.size) * 2.2) break;
      if (line.cells.length >= 2) {
        last = j;
        j++;
        continue;
      }
      // A one-cell line continues the table only if a multi-cell row follows soon.
      const next = lines.slice(j + 1, j + 3).find((l) => l.cells.length >= 2);
      if (!next) break;
      j++;
    }
    if (last > i) {
      const columns = header.cells;
      const tableLines = lines.slice(i, last + 1);
      tables.push({
        first: i,
        last,
        columns,
        rows: tableLines.map((line) => toRow(line, columns)),
        lines: tableLines,
      });
      i = last + 1;
    } else {
      i++;
    }
  }
  return tables;
}

/** A table as markdown (or HTML): the header row, a rule, and the rows. */
export function renderTable(rows: string[][], format: "markdown" | "html" = "markdown"): string {
  if (format === "html") {
    const tr = (cells: string[], tag: "th" | "td") =>
      `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join("")}</tr>`;
    const [head = [], ...body] = rows;
    return `<table>${tr(head, "th")}${body.map((r) => tr(r, "td")).join("")}</table>`;
  }
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  const [head = [], ...body] = rows;
  return [line(head), line(head.map(() => "---")), ...body.map(line)].join("\n");
}

function escapeHtml(text: string) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
