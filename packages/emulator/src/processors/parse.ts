import { createHash } from "node:crypto";
import type { Schemas } from "@extendkit/core";
import type { DocumentLayout, Line, PageLayout } from "./layout.js";

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

/** Cuts a document's lines into blocks: paragraphs of text and headings. */
export function toBlocks(page: PageLayout): Block[] {
  const blocks: Block[] = [];
  const sizes = page.lines.map((l) => l.size).sort((a, b) => a - b);
  const bodySize = sizes[Math.floor(sizes.length / 2)] ?? 11;
  let group: Line[] = [];
  const flush = (type: Block["type"]) => {
    if (group.length) blocks.push(block(page, group, type));
    group = [];
  };
  for (const line of page.lines) {
    const heading = isHeading(line, bodySize);
    const previous = group[group.length - 1];
    const gap = previous ? line.top - previous.bottom : 0;
    if (heading) {
      flush("text");
      group = [line];
      flush("heading");
      continue;
    }
    if (previous && gap > previous.size * 0.9) flush("text");
    group.push(line);
  }
  flush("text");
  return blocks;
}

function isHeading(line: Line, bodySize: number) {
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

function block(page: PageLayout, lines: Line[], type: Block["type"]): Block {
  const left = Math.min(...lines.map((l) => l.left));
  const top = Math.min(...lines.map((l) => l.top));
  const right = Math.max(...lines.map((l) => l.right));
  const bottom = Math.max(...lines.map((l) => l.bottom));
  const content = lines.map((l) => l.text).join("\n");
  const r = (n: number) => Math.round(n * 100) / 100;
  return {
    object: "block",
    id: `block_${createHash("sha256")
      .update(`${page.number}:${r(left)}:${r(top)}:${content}`)
      .digest("hex")
      .slice(0, 20)}`,
    type,
    content,
    details: {},
    metadata: { page: { number: page.number, width: page.width, height: page.height } },
    polygon: [
      { x: r(left), y: r(top) },
      { x: r(right), y: r(top) },
      { x: r(right), y: r(bottom) },
      { x: r(left), y: r(bottom) },
    ],
    boundingBox: { left: r(left), top: r(top), right: r(right), bottom: r(bottom) },
  };
}

function markdown(blocks: Block[]) {
  return blocks
    .map((b) =>
      b.type === "heading" || b.type === "section_heading"
        ? `## ${b.content.replace(/\n/g, " ")}`
        : b.content,
    )
    .join("\n\n");
}

/** Text placed roughly where it stands on the page: indentation from the left margin. */
function spatial(page: PageLayout) {
  return page.lines
    .map((l) => " ".repeat(Math.max(0, Math.round((l.left - 36) / 6))) + l.text)
    .join("\n");
}

/** Renders a document into chunks by the config's strategy and target. */
export function toChunks(layout: DocumentLayout, config: ParseConfig): Chunk[] {
  const target = config.target ?? "markdown";
  const strategy = config.chunkingStrategy?.type ?? "page";
  const pages = layout.pages.map((page) => ({ page, blocks: toBlocks(page) }));
  const render = (items: typeof pages) =>
    target === "spatial"
      ? items.map((i) => spatial(i.page)).join("\n\f\n")
      : markdown(items.flatMap((i) => i.blocks));
  const chunk = (
    type: Chunk["type"],
    items: typeof pages,
    blocks = items.flatMap((i) => i.blocks),
  ): Chunk => ({
    object: "chunk",
    type,
    content: type === "section" ? markdown(blocks) : render(items),
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
