import type { IncomingMessage } from "node:http";
import type { Schemas } from "@extendkit/core";
import busboy from "busboy";
import type { Context } from "../context.js";
import { ApiError, badRequest } from "../errors.js";
import { detectFileType } from "../file-types.js";
import {
  createTextFile,
  fileBytes,
  fileContents,
  fileView,
  getFile,
  insertFile,
  layoutWarnings,
  resolveFileInput,
} from "../files.js";
import { newId, PREFIX } from "../ids.js";
import { ProcessingError } from "../processors/errors.js";
import { page } from "./paging.js";
import { warn } from "./parse-edit.js";
import type { Handlers } from "./types.js";

/**
 * Streams the `file` part of a multipart upload to disk, refusing it as soon as it passes
 * the size limit, and records it once its type is known.
 */
function receiveUpload(ctx: Context, req: IncomingMessage): Promise<Schemas["File"]> {
  const contentType = req.headers["content-type"] ?? "";
  if (!contentType.startsWith("multipart/form-data")) {
    return Promise.reject(
      badRequest(
        "Invalid request: the body must be multipart/form-data with one part named `file`.",
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const id = newId(PREFIX.file);
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        // Busboy flags a file that reaches `fileSize` as truncated: allow one byte more, so a
        // file of exactly the limit is accepted and only a larger one is refused.
        limits: { fileSize: ctx.options.maxUploadBytes + 1 },
      });
    } catch (error) {
      reject(badRequest(`Invalid request: ${(error as Error).message}.`));
      return;
    }
    let pending: Promise<Schemas["File"]> | undefined;
    parser.on("file", (field, stream, info) => {
      // Only the first part named `file` is the upload; other parts, before or after it,
      // are read and ignored.
      if (field !== "file" || pending) {
        stream.resume();
        return;
      }
      let head = Buffer.alloc(0);
      let truncated = false;
      stream.on("data", (chunk: Buffer) => {
        if (head.length < 4096) head = Buffer.concat([head, chunk]).subarray(0, 4096);
      });
      stream.on("limit", () => {
        truncated = true;
      });
      pending = ctx.blobs.writeStream(id, stream).then(async (size) => {
        if (truncated) {
          await ctx.blobs.remove(id);
          throw new ApiError(
            400,
            "FILE_SIZE_TOO_LARGE",
            `The file is larger than the ${ctx.options.maxUploadBytes}-byte upload limit; split it or compress it.`,
          );
        }
        const name = info.filename || "upload";
        const type = detectFileType(name, head, info.mimeType);
        if (!type) {
          await ctx.blobs.remove(id);
          throw new ApiError(
            400,
            "FILE_TYPE_NOT_SUPPORTED",
            `The type of "${name}" is not supported; upload a PDF, an image, an Office document, CSV, text, HTML, XML or email.`,
          );
        }
        return insertFile(ctx, id, name, type, { size, mediaType: info.mimeType });
      });
    });
    parser.on("error", (error) =>
      reject(
        badRequest(
          `Invalid request: the multipart body cannot be read (${(error as Error).message}).`,
        ),
      ),
    );
    parser.on("close", () => {
      if (!pending)
        reject(
          badRequest(
            "Invalid request: body.file is required: send one multipart part named `file`.",
          ),
        );
      else pending.then(resolve, reject);
    });
    req.pipe(parser);
  });
}

export const fileHandlers = {
  uploadFile: async ({ ctx, req }) => ({
    success: true,
    file: fileView(ctx, await receiveUpload(ctx, req)),
  }),

  getFile: async ({ ctx, params, query, headers }) => {
    const id = params.id as string;
    const file = getFile(ctx, id).data;
    // A document that cannot be read is a 400 here, with its code: the API declares 422 for
    // parse and edit only, and the bodies of other errors carry the same codes.
    const contents = await fileContents(ctx, id, query).catch((error: unknown) => {
      if (error instanceof ProcessingError)
        throw new ApiError(400, error.code, error.message, false);
      throw error;
    });
    if (contents) warn(headers, layoutWarnings(ctx, id));
    // Reading contents may have learned the page count: show the latest record.
    const latest = getFile(ctx, id).data;
    return {
      success: true,
      file: { ...fileView(ctx, latest ?? file), ...(contents ? { contents } : {}) },
    };
  },

  deleteFile: async ({ ctx, params }) => {
    const id = params.id as string;
    getFile(ctx, id);
    ctx.store.delete("file", id);
    await ctx.blobs.remove(id);
    return { success: true, fileId: id, message: `File ${id} was deleted.` };
  },

  listFiles: ({ ctx, query }) => {
    const result = page(
      ctx,
      "file",
      { ...query, sortBy: "createdAt", nameContains: query.nameContains },
      (stored) => fileView(ctx, stored.data),
    );
    return {
      success: true,
      files: result.items,
      ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
    };
  },

  createFile: async ({ ctx, body }) => {
    if (body.rawText !== undefined) {
      const name = body.name ?? "raw_text.txt";
      return { success: true, file: fileView(ctx, await createTextFile(ctx, body.rawText, name)) };
    }
    const source = resolveFileInput(ctx, {
      fileUrl: body.url as string,
      ...(body.name ? { fileName: body.name } : {}),
    });
    // The deprecated endpoint pre-processes the file: fetch it now so failures surface here.
    try {
      await fileBytes(ctx, source.id);
      return { success: true, file: fileView(ctx, getFile(ctx, source.id).data) };
    } catch (error) {
      ctx.store.delete("file", source.id);
      await ctx.blobs.remove(source.id);
      // A url that cannot be downloaded, or holds an unsupported or oversized file, is a 400
      // with its code, not an internal error.
      if (error instanceof ProcessingError)
        throw new ApiError(error.status, error.code, error.message, false);
      throw error;
    }
  },
} satisfies Partial<Handlers>;
