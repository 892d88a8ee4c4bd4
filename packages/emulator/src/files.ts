import { basename } from "node:path";
import type { Schemas } from "@extendkit/core";
import { type Context, nowIso, signedUrl } from "./context.js";
import { badRequest, notFound } from "./errors.js";
import { detectFileType } from "./file-types.js";
import { newId, PREFIX } from "./ids.js";
import { ProcessingError } from "./processors/errors.js";
import { type DocumentLayout, pageText, readLayout, textLayout } from "./processors/layout.js";
import { blocksToMarkdown, toBlocks } from "./processors/parse.js";
import { safeDecode } from "./router.js";

type FileObject = Schemas["File"];

export interface FileInternal {
  size?: number;
  mediaType?: string;
  /** Set while the bytes are still to be fetched from a `fileUrl`. */
  sourceUrl?: string;
}

const PRESIGNED_TTL_SECONDS = 15 * 60;

/** The API view of a stored file: a fresh 15-minute `presignedUrl`, no `contents`. */
export function fileView(ctx: Context, file: FileObject): FileObject {
  const { contents: _contents, ...rest } = file;
  return {
    ...rest,
    presignedUrl: signedUrl(ctx, `/_emulator/files/${file.id}/content`, PRESIGNED_TTL_SECONDS),
  };
}

export function getFile(ctx: Context, id: string) {
  const stored = ctx.store.get<"file", FileInternal>("file", id);
  if (!stored) throw notFound("File", id);
  return stored;
}

/** Stores bytes as a new file; refuses types the service does not accept. */
export async function createFile(
  ctx: Context,
  input: {
    name: string;
    bytes: Uint8Array;
    mediaType?: string;
    parentFileId?: string;
    parentSplit?: Schemas["ParentSplit"];
  },
): Promise<FileObject> {
  const type = detectFileType(input.name, input.bytes.subarray(0, 4096), input.mediaType);
  if (!type) {
    throw new ProcessingError(
      "FILE_TYPE_NOT_SUPPORTED",
      `The type of "${input.name}" is not supported; see the supported file types (PDF, images, Office documents, CSV, text, HTML, XML, email).`,
    );
  }
  const id = newId(PREFIX.file);
  await ctx.blobs.write(id, input.bytes);
  return insertFile(
    ctx,
    id,
    input.name,
    type,
    { size: input.bytes.length, mediaType: input.mediaType },
    input,
  );
}

/** Records a file whose bytes are already in the blob store under `id`. */
export function insertFile(
  ctx: Context,
  id: string,
  name: string,
  type: Schemas["FileType"] | undefined,
  internal: FileInternal,
  extra: { parentFileId?: string; parentSplit?: Schemas["ParentSplit"] } = {},
): FileObject {
  const now = nowIso();
  const file: FileObject = {
    object: "file",
    id,
    name,
    ...(type ? { type } : {}),
    ...(extra.parentFileId ? { parentFileId: extra.parentFileId } : {}),
    metadata: extra.parentSplit ? { parentSplit: extra.parentSplit } : {},
    createdAt: now,
    updatedAt: now,
  };
  ctx.store.insert("file", id, file, { name, parentId: extra.parentFileId ?? null }, internal, now);
  return file;
}

/** Resolves a `FileInput`: an existing file by id (404 if unknown), or a new file for a URL. */
export function resolveFileInput(ctx: Context, input: Schemas["FileInput"]): FileObject {
  if (input.fileId !== undefined) {
    if (input.fileId === "")
      throw badRequest(
        "Invalid request: fileId is empty; pass the id of an uploaded file (file_...) or a fileUrl.",
      );
    return getFile(ctx, input.fileId).data;
  }
  const url = input.fileUrl;
  let pathname: string;
  try {
    pathname = new URL(url ?? "").pathname;
  } catch {
    throw badRequest(
      `Invalid request: fileUrl must be an absolute URL the emulator can download; got ${JSON.stringify(url)}.`,
    );
  }
  // The name is the last path segment as a person reads it, or as sent if it cannot be decoded.
  const last = basename(pathname);
  const name = input.fileName ?? ((safeDecode(last) ?? last) || "download");
  const id = newId(PREFIX.file);
  return insertFile(ctx, id, name, undefined, { sourceUrl: url });
}

/** A stored text (raw text inputs become `.txt` files). */
export async function createTextFile(
  ctx: Context,
  text: string,
  name: string,
): Promise<FileObject> {
  const id = newId(PREFIX.file);
  const bytes = Buffer.from(text, "utf8");
  await ctx.blobs.write(id, bytes);
  // The text is known: lay it out now rather than reading the bytes back later.
  ctx.store.setLayout(id, textLayout(text));
  return insertFile(ctx, id, name, "TXT", { size: bytes.length, mediaType: "text/plain" });
}

/** The file's bytes, fetching them first if the file came from a URL. */
export async function fileBytes(ctx: Context, id: string): Promise<Buffer> {
  const stored = getFile(ctx, id);
  if (stored.internal.sourceUrl) {
    let bytes: Buffer;
    try {
      const response = await fetch(stored.internal.sourceUrl, {
        signal: AbortSignal.timeout(30_000),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      throw new ProcessingError(
        "UNABLE_TO_DOWNLOAD_FILE",
        `The file could not be downloaded from its fileUrl (${(error as Error).message}).`,
        400,
      );
    }
    if (bytes.length > ctx.options.maxUploadBytes) {
      throw new ProcessingError(
        "FILE_SIZE_TOO_LARGE",
        `The file at fileUrl is ${bytes.length} bytes; the limit is ${ctx.options.maxUploadBytes}.`,
      );
    }
    const type = detectFileType(stored.data.name, bytes.subarray(0, 4096), undefined);
    if (!type)
      throw new ProcessingError(
        "FILE_TYPE_NOT_SUPPORTED",
        `The type of "${stored.data.name}" is not supported.`,
      );
    await ctx.blobs.write(id, bytes);
    const data = { ...stored.data, type };
    ctx.store.update("file", id, data, { internal: { size: bytes.length } });
    return bytes;
  }
  return ctx.blobs.read(id);
}

/** The file's text layout, read once and kept. */
export async function fileLayout(ctx: Context, id: string): Promise<DocumentLayout> {
  const cached = ctx.store.getLayout<DocumentLayout>(id);
  if (cached) return cached;
  const bytes = await fileBytes(ctx, id);
  const stored = getFile(ctx, id);
  const layout = await readLayout(stored.data.type, bytes, {
    ocr: ctx.options.ocr,
    name: stored.data.name,
    engine: ctx.ocr,
  });
  ctx.store.setLayout(id, layout);
  if (stored.data.type === "PDF" || stored.data.type === "DOCX") {
    const data = {
      ...stored.data,
      metadata: { ...stored.data.metadata, pageCount: layout.pages.length },
    };
    ctx.store.update("file", id, data);
  }
  return layout;
}

/** What reading a file's text had to say (e.g. an image with no OCR), once it was read. */
export function layoutWarnings(ctx: Context, fileId: string): string[] {
  return ctx.store.getLayout<DocumentLayout>(fileId)?.warnings ?? [];
}

/** `GET /files/{id}` contents for the flags asked for. */
export async function fileContents(
  ctx: Context,
  id: string,
  flags: { rawText?: boolean; markdown?: boolean; html?: boolean },
): Promise<Schemas["FileContents"] | undefined> {
  if (!flags.rawText && !flags.markdown && !flags.html) return undefined;
  const layout = await fileLayout(ctx, id);
  const pages = layout.pages.map((page) => {
    // The same blocks and rendering as a parse with the default config.
    const markdown = blocksToMarkdown(toBlocks(page));
    return {
      pageNumber: page.number,
      pageWidth: page.width,
      pageHeight: page.height,
      ...(flags.rawText ? { rawText: pageText(page) } : {}),
      ...(flags.markdown ? { markdown } : {}),
    };
  });
  return {
    ...(flags.rawText ? { rawText: pages.map((p) => p.rawText).join("\n\n") } : {}),
    ...(flags.markdown ? { markdown: pages.map((p) => p.markdown).join("\n\n") } : {}),
    pages,
  };
}
