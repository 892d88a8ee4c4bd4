import type { Schemas } from "@extendkit/core";
import { discardRun } from "../context.js";
import {
  editNow,
  generateEditSchema,
  getEditRun,
  resolveEditRequest,
  startEdit,
} from "../edit-runs.js";
import { ApiError } from "../errors.js";
import { layoutWarnings, resolveFileInput } from "../files.js";
import { getParserRun, parseNow, startParse, withResponseType } from "../parser-runs.js";
import { ProcessingError } from "../processors/errors.js";
import type { Handlers } from "./types.js";

/**
 * Warnings from reading a document (such as an image with no OCR configured) travel in an
 * `x-extendkit-warning` header: the API's bodies have no field for them.
 */
export function warn(headers: Record<string, string>, warnings: string[]) {
  if (warnings.length) headers["x-extendkit-warning"] = warnings.join(" | ");
}

/** Parse and edit answer document problems with their code and status (400 or 422). */
async function asApiError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ProcessingError)
      throw new ApiError(error.status, error.code, error.message, false);
    throw error;
  }
}

/** Refuses config combinations the spec forbids before any work starts (400, not a failed run). */
function checkParseConfig(config: Schemas["ParseConfig"] | undefined) {
  if (config?.target === "spatial" && config.chunkingStrategy?.type === "section")
    throw new ApiError(
      400,
      "INVALID_CONFIG_OPTIONS",
      "Invalid config: `section` chunking is not allowed with the `spatial` target; use `page` or `document` chunking, or the `markdown` target.",
      false,
    );
}

export const parseHandlers = {
  parseFile: ({ ctx, body, query, headers }) =>
    asApiError(async () => {
      checkParseConfig(body.config);
      const file = resolveFileInput(ctx, body.file);
      const run = await parseNow(ctx, file.id, body.config);
      warn(headers, layoutWarnings(ctx, file.id));
      return withResponseType(ctx, run, query.responseType);
    }),

  parseFileAsync: ({ ctx, body }) => {
    checkParseConfig(body.config);
    const file = resolveFileInput(ctx, body.file);
    return startParse(ctx, file.id, body.config);
  },

  getParserRun: ({ ctx, params, query, headers }) => {
    const run = getParserRun(ctx, params.id as string);
    if (run.object === "parser_run") warn(headers, layoutWarnings(ctx, run.fileId));
    return { success: true, parserRun: withResponseType(ctx, run, query.responseType) };
  },

  deleteParserRun: ({ ctx, params }) => {
    const id = params.id as string;
    getParserRun(ctx, id);
    discardRun(ctx, "parser_run", id);
    return { success: true, parserRunId: id, message: `Parser run ${id} was deleted.` };
  },
} satisfies Partial<Handlers>;

export const editHandlers = {
  editFile: ({ ctx, body }) => asApiError(() => editNow(ctx, resolveEditRequest(ctx, body))),

  editFileAsync: ({ ctx, body }) => startEdit(ctx, resolveEditRequest(ctx, body)),

  generateEditSchema: ({ ctx, body }) => asApiError(() => generateEditSchema(ctx, body)),

  getEditRun: ({ ctx, params }) => ({
    success: true,
    editRun: getEditRun(ctx, params.id as string),
  }),

  deleteEditRun: async ({ ctx, params }) => {
    const id = params.id as string;
    const run = getEditRun(ctx, id);
    discardRun(ctx, "edit_run", id);
    // The spec: deleting an edit run deletes its edited file too.
    const editedFileId = run.object === "edit_run" ? run.editedFile?.fileId : undefined;
    if (editedFileId) {
      ctx.store.delete("file", editedFileId);
      await ctx.blobs.remove(editedFileId);
    }
    return { success: true, editRunId: id, message: `Edit run ${id} was deleted.` };
  },

  getEditTemplate: ({ ctx, params }) => {
    const stored = ctx.store.get("edit_template", params.id as string);
    if (!stored)
      throw new ApiError(
        404,
        "NOT_FOUND",
        `Edit template ${JSON.stringify(params.id)} was not found.`,
      );
    return { success: true, editTemplate: stored.data };
  },
} satisfies Partial<Handlers>;
