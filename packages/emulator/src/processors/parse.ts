import { createHash } from "node:crypto";
import type { Schemas } from "@extendkit/core";
import type { DocumentLayout, Line, PageLayout } from "./layout.js";
import { columnOf, findTables, renderTable, type Table } from "./tables.js";

type Block = Schemas["Block"];
type Chunk = Schemas["Chunk"];
type ParseConfig = Schemas["ParseConfig"];

/** The effective parse config: the request's, with the documented defaults filled in. */
export function effectiveParseConfig(config: ParseConfig = {}): ParseConfig {
  return {
    ...config,
    target: config.target ?? "markdown",
    chunkingStrategy: { ...config.chunkingStrategy, type: config.chunkingStrategy?.type ?? "page" },
    engine: config.engine ?? "parse_performance",
  };
}

interface BlockOptions {
  tables: boolean;
  tableFormat: "markdown" | "html";
  cellBlocks: boolean;
}

function blockOptions(config: ParseConfig | undefined): BlockOptions {
  const tables = config?.blockOptions?.tables;
  return {
    tables: tables?.enabled !== false,
    tableFormat: tables?.targetFormat ?? "markdown",
    cellBlocks: tables?.cellBlocksEnabled === true,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

function box(lines: Array<{ left: number; top: number; right: number; bottom: number }>) {
  const left = round(Math.min(...lines.map((l) => l.left)));
  const top = round(Math.min(...lines.map((l) => l.top)));
  const right = round(Math.max(...lines.map((l) => l.right)));
  const bottom = round(Math.max(...lines.map((l) => l.bottom)));
  return {
    polygon: [
      { x: left, y: top },
      { x: right, y: top },
      { x: right, y: bottom },
      { x: left, y: bottom },
    ],
    boundingBox: { left, top, right, bottom },
  };
}

function blockId(page: PageLayout, where: { left: number; top: number }, content: string) {
  const hash = createHash("sha256").update(
    `${page.number}:${round(where.left)}:${round(where.top)}:${content}`,
  );
  return `block_${hash.digest("hex").slice(0, 20)}`;
}

function pageMetadata(page: PageLayout) {
  return { page: { number: page.number, width: page.width, height: page.height } };
}

/** A markdown heading (`# Title`) in a text input. */
const MARKDOWN_HEADING = /^#{1,6}\s+/;

function isHeading(line: Line, bodySize: number) {
  if (MARKDOWN_HEADING.test(line.text)) return true;
  if (line.cells.length > 1) return false;
  const words = line.text.split(/\s+/).length;
  if (line.size >= bodySize * 1.25 && words <= 12) return true;
  const letters = line.text.replace(/[^A-Za-z]/g, "");
  return (
    letters.length >= 4 &&
    letters === letters.toUpperCase() &&
    words <= 6 &&
    !/\d{3,}/.test(line.text)
  );
}

function tableBlock(page: PageLayout, table: Table, options: BlockOptions): Block {
  const geometry = box(table.lines);
  const content = renderTable(table.rows, options.tableFormat);
  const id = blockId(page, geometry.boundingBox, content);
  const block: Block = {
    object: "block",
    id,
    type: "table",
    content,
    details: {
      type: "table_details",
      rowCount: table.rows.length,
      columnCount: table.columns.length,
    },
    metadata: pageMetadata(page),
    ...geometry,
  };
  if (!options.cellBlocks) return block;
  block.children = table.lines.flatMap((line, rowIndex) =>
    line.cells.map((cell) => {
      const cellGeometry = box([
        { left: cell.left, right: cell.right, top: line.top, bottom: line.bottom },
      ]);
      return {
        object: "block" as const,
        id: blockId(page, cellGeometry.boundingBox, cell.text),
        parentBlockId: id,
        type: "table_cell" as const,
        content: cell.text,
        details: {
          type: "table_cell_details" as const,
          rowIndex,
          columnIndex: columnOf(cell, table.columns),
        },
        metadata: pageMetadata(page),
        ...cellGeometry,
      };
    }),
  );
  return block;
}

/** Cuts a page's lines into blocks: headings, tables where the layout shows one, and paragraphs. */
export function toBlocks(page: PageLayout, config?: ParseConfig): Block[] {
  const options = blockOptions(config);
  const blocks: Block[] = [];
  const sizes = page.lines.map((l) => l.size).sort((a, b) => a - b);
  const bodySize = sizes[Math.floor(sizes.length / 2)] ?? 11;
  const tables = options.tables ? findTables(page) : [];
  let group: Line[] = [];
  const flush = (type: Block["type"]) => {
    if (!group.length) return;
    const content = group.map((l) => l.text.replace(MARKDOWN_HEADING, "")).join("\n");
    const geometry = box(group);
    blocks.push({
      object: "block",
      id: blockId(page, geometry.boundingBox, content),
      type,
      content,
      details: {},
      metadata: pageMetadata(page),
      ...geometry,
    });
    group = [];
  };
  for (let i = 0; i < page.lines.length; i++) {
    const table = tables.find((t) => t.first === i);
    if (table) {
      flush("text");
      blocks.push(tableBlock(page, table, options));
      i = table.last;
      continue;
    }
    const line = page.lines[i] as Line;
    if (isHeading(line, bodySize)) {
      flush("text");
      group = [line];
      flush("heading");
      continue;
    }
    const previous = group[group.length - 1];
    if (previous && line.top - previous.bottom > previous.size * 0.9) flush("text");
    group.push(line);
  }
  flush("text");
  return blocks;
}

/** Blocks as markdown: headings as `##`, tables as they were rendered, paragraphs as text. */
export function blocksToMarkdown(blocks: Block[]): string {
  return blocks
    .map((b) =>
      b.type === "heading" || b.type === "section_heading"
        ? `## ${b.content.replace(/\n/g, " ")}`
        : b.content,
    )
    .join("\n\n");
}

/** Text placed roughly where it stands on the page: each cell at its column. */
function spatial(page: PageLayout) {
  return page.lines
    .map((line) => {
      let out = "";
      for (const cell of line.cells) {
        const column = Math.max(0, Math.round((cell.left - 36) / 6));
        out += `${" ".repeat(Math.max(out.length ? 1 : 0, column - out.length))}${cell.text}`;
      }
      return out;
    })
    .join("\n");
}

/** Renders a document into chunks by the config's strategy and target. */
export function toChunks(layout: DocumentLayout, config: ParseConfig): Chunk[] {
  const target = config.target ?? "markdown";
  const strategy = config.chunkingStrategy?.type ?? "page";
  const pages = layout.pages.map((page) => ({ page, blocks: toBlocks(page, config) }));
  const render = (items: typeof pages) =>
    target === "spatial"
      ? items.map((i) => spatial(i.page)).join("\n\f\n")
      : blocksToMarkdown(items.flatMap((i) => i.blocks));
  const chunk = (
    type: Chunk["type"],
    items: typeof pages,
    blocks = items.flatMap((i) => i.blocks),
  ): Chunk => ({
    object: "chunk",
    type,
    content: type === "section" ? blocksToMarkdown(blocks) : render(items),
    metadata: {
      pageRange: {
        start: items[0]?.page.number ?? 1,
        end: items[items.length - 1]?.page.number ?? 1,
      },
    },
    blocks,
  });
  if (strategy === "document") return [chunk("document", pages)];
  if (strategy === "section") return sections(pages, chunk);
  return pages.map((item) => chunk("page", [item]));
}

function sections(
  pages: { page: PageLayout; blocks: Block[] }[],
  chunk: (
    type: Chunk["type"],
    items: { page: PageLayout; blocks: Block[] }[],
    blocks?: Block[],
  ) => Chunk,
): Chunk[] {
  const out: Chunk[] = [];
  let blocks: Block[] = [];
  let items: typeof pages = [];
  const flush = () => {
    if (blocks.length) out.push(chunk("section", items, blocks));
    blocks = [];
    items = [];
  };
  for (const item of pages) {
    for (const b of item.blocks) {
      if ((b.type === "heading" || b.type === "section_heading") && blocks.length) flush();
      blocks.push(b);
      if (!items.includes(item)) items.push(item);
    }
  }
  flush();
  return out.length ? out : [chunk("section", pages.slice(0, 1), [])];
}
