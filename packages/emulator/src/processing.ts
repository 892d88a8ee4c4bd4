import type { Schemas } from "@extendkit/core";
import { PDFDocument } from "pdf-lib";
import type { Context } from "./context.js";
import { sleep } from "./engine.js";
import { createFile, fileBytes, fileLayout, getFile } from "./files.js";
import { newId } from "./ids.js";
import { classify } from "./processors/classify.js";
import {
  type ExtractOptions,
  extractFields,
  extractJson,
  type FieldSchema,
  selectPages,
  selectSheets,
} from "./processors/extract.js";
import { type DocumentLayout, pageText, textLayout } from "./processors/layout.js";
import { splitPages } from "./processors/split.js";

type ProcessorConfig = Schemas["ProcessorConfig"];

/** What a processor reads: a stored file, or a raw text. */
export type ProcessorInput = { fileId: string } | { rawText: string };

export async function inputLayout(ctx: Context, input: ProcessorInput): Promise<DocumentLayout> {
  return "fileId" in input ? fileLayout(ctx, input.fileId) : textLayout(input.rawText);
}

/**
 * Waits the simulated processing time for this many pages, then for the run's turn: the
 * engine does one step per turn of the event loop, so API requests are answered first.
 */
export async function simulateWork(ctx: Context, pages: number, signal: AbortSignal) {
  await sleep(ctx.options.pageLatencyMs * Math.max(1, pages), signal);
  await ctx.engine.turn();
  if (signal.aborted) throw signal.reason;
}

/** Runs one processor config on an input and answers its output. */
export async function runProcessorConfig(
  ctx: Context,
  config: ProcessorConfig,
  input: ProcessorInput,
  signal: AbortSignal,
): Promise<Schemas["ProcessorOutput"]> {
  const layout = await inputLayout(ctx, input);
  await simulateWork(ctx, layout.pages.length, signal);
  const text = layout.pages.map(pageText).join("\n\n");
  switch (config.type) {
    case "CLASSIFY":
      return classify(text, config.classifications);
    case "EXTRACT": {
      const advanced = config.advancedOptions;
      const pages = selectPages(
        selectSheets(layout, advanced?.excelSheetSelectionStrategy, advanced?.excelSheetRanges),
        advanced?.pageRanges,
      );
      const options: ExtractOptions = {
        insights: advanced?.modelReasoningInsightsEnabled === true,
        citations: advanced?.citationsEnabled !== false,
        light: config.baseProcessor === "extraction_light",
        rules: config.extractionRules,
        arrayCitations: advanced?.arrayCitationStrategy,
      };
      return config.schema
        ? extractJson(pages, config.schema as FieldSchema, options)
        : extractFields(pages, config.fields ?? [], options);
    }
    case "SPLITTER": {
      const groups = splitPages(layout, config.splitClassifications);
      const splits: Schemas["Split"][] = [];
      for (const group of groups) {
        const identifier = `${group.classification.type}-${group.startPage}-${group.endPage}`;
        const split = {
          id: newId("split_"),
          type: group.classification.type,
          identifier,
          startPage: group.startPage,
          endPage: group.endPage,
        };
        const fileId =
          "fileId" in input ? await cutSplit(ctx, input.fileId, layout, split) : undefined;
        splits.push({
          ...split,
          classificationId: group.classification.id,
          observation: group.classification.insights[0]?.content ?? "",
          fileId: fileId ?? "",
        });
      }
      return { splits };
    }
  }
}

/** A child file holding one split's pages: a real sub-PDF for PDFs, the pages' text otherwise. */
async function cutSplit(
  ctx: Context,
  parentId: string,
  layout: DocumentLayout,
  split: { id: string; type: string; identifier: string; startPage: number; endPage: number },
): Promise<string> {
  const parent = getFile(ctx, parentId).data;
  const stem = parent.name.replace(/\.[^.]+$/, "");
  const common = { parentFileId: parentId, parentSplit: split };
  if (parent.type === "PDF") {
    const source = await PDFDocument.load(await fileBytes(ctx, parentId));
    const out = await PDFDocument.create();
    const indices = Array.from(
      { length: split.endPage - split.startPage + 1 },
      (_, i) => split.startPage - 1 + i,
    );
    for (const page of await out.copyPages(source, indices)) out.addPage(page);
    const file = await createFile(ctx, {
      name: `${stem}_pages_${split.startPage}-${split.endPage}.pdf`,
      bytes: await out.save(),
      ...common,
    });
    return file.id;
  }
  const text = layout.pages
    .slice(split.startPage - 1, split.endPage)
    .map(pageText)
    .join("\f");
  const file = await createFile(ctx, {
    name: `${stem}_pages_${split.startPage}-${split.endPage}.txt`,
    bytes: Buffer.from(text),
    ...common,
  });
  return file.id;
}
