/**
 * `@extendkit/core/node`: helpers that need Node's file system. The main entry stays free
 * of Node built-ins so it bundles for browsers, Edge and Workers.
 *
 * @example
 * ```ts
 * import { uploadFileFromPath } from "@extendkit/core/node";
 * const { data } = await uploadFileFromPath(extend, "./invoices/march.pdf");
 * ```
 *
 * @packageDocumentation
 */
import { openAsBlob } from "node:fs";
import { basename } from "node:path";
import type { ExtendClient, ThrowingExtendClient } from "./client.js";
import { type UploadOptions, type UploadResult, uploadFile } from "./upload.js";

/**
 * Uploads a file from disk. The file is read as it is sent (through `fs.openAsBlob`), never
 * loaded whole, and is named after the path unless `name` says otherwise.
 *
 * @example
 * ```ts
 * const { data, error } = await uploadFileFromPath(extend, "/data/invoice-0042.pdf");
 * ```
 */
export async function uploadFileFromPath(
  client: ExtendClient | ThrowingExtendClient,
  path: string,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const blob = await openAsBlob(
    path,
    options.contentType ? { type: options.contentType } : undefined,
  );
  return uploadFile(client, blob, { ...options, name: options.name ?? basename(path) });
}
