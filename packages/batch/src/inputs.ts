import { createHash } from "node:crypto";
import { basename, resolve } from "node:path";

/**
 * Per-input options that any input form may carry.
 *
 * @example
 * ```ts
 * const job = runBatch({
 *   workflowId: "workflow_invoices",
 *   inputs: [
 *     { path: "invoices/0001.pdf", key: "invoice-0001", metadata: { customerId: "cus_42" } },
 *     { rawText: "Invoice #2, total $12.00", key: "invoice-0002" },
 *   ],
 * });
 * ```
 */
export interface InputOptions {
  /**
   * The input's identity in the job. Two inputs with the same key are one input: the second
   * is reported as a duplicate and never gets a run of its own.
   * @default a hash of the input: its absolute path, URL, file id or text
   */
  key?: string;
  /** Metadata stored on the input's run, merged over the job's `metadata`. */
  metadata?: Record<string, unknown>;
}

/**
 * One input of a batch:
 * - a string: a local path, or an `http(s)://` URL;
 * - `{ path }`: a local file, uploaded through `POST /files/upload` first;
 * - `{ url, fileName? }`: a file the API downloads;
 * - `{ fileId }`: a file already uploaded;
 * - `{ rawText }`: a text, stored by the API as a `.txt` file.
 */
export type BatchInput =
  | string
  | ({
      /** A local file's path, relative to the working directory or absolute. */
      path: string;
    } & InputOptions)
  | ({
      /** An `http(s)://` URL the API downloads the file from. */
      url: string;
      /** The file's name. @default the URL's last path segment, else `"download"` */
      fileName?: string;
    } & InputOptions)
  | ({
      /** The id of a file already uploaded (`file_...`). */
      fileId: string;
    } & InputOptions)
  | ({
      /** A text to run, stored by the API as a `.txt` file. */
      rawText: string;
    } & InputOptions);

/** An input in the form the runner and the journal keep: one kind, one value. */
export type InputSource =
  | {
      /** A local file. */
      kind: "path";
      /** The file's absolute path. */
      path: string;
      /** The file's name, sent with the upload. */
      name: string;
    }
  | {
      /** A file the API downloads. */
      kind: "url";
      /** The URL to download. */
      url: string;
      /** The file's name. */
      name: string;
    }
  | {
      /** A file already uploaded. */
      kind: "fileId";
      /** The file's id. */
      fileId: string;
    }
  | {
      /** A text. */
      kind: "rawText";
      /** The text itself. */
      rawText: string;
    };

/** An input with its key, ready to run. */
export interface PreparedInput {
  /** The input's key: its own, or a hash of its source. */
  key: string;
  /** What to run, in canonical form. */
  source: InputSource;
  /** The input's own metadata, to merge over the job's. */
  metadata?: Record<string, unknown>;
}

/**
 * An input the runner cannot read. The job goes on: the input ends as an `ERROR` outcome
 * carrying this message.
 *
 * @example
 * ```ts
 * for await (const outcome of job) {
 *   // An unreadable input ends as ERROR, with the InvalidInputError's message.
 *   if (outcome.status === "ERROR") console.error(outcome.input, outcome.error?.message);
 * }
 * ```
 */
export class InvalidInputError extends TypeError {
  /** Always `"InvalidInputError"`. */
  override name = "InvalidInputError";
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Reads one input into its canonical form, with its deterministic key: what the runner hands
 * to {@link BatchJournal.claim}, for writing and testing journals of your own.
 *
 * @example
 * ```ts
 * import { createMemoryJournal, prepareInput } from "@extendkit/batch";
 *
 * const journal = createMemoryJournal();
 * const { epoch } = await journal.open({ workflowId: "workflow_invoices", mode: "batch" });
 * const input = prepareInput({ rawText: "Invoice #7" });
 * await journal.claim(input, epoch); // input.key is the same in every process
 * ```
 */
export function prepareInput(input: BatchInput, cwd: string = process.cwd()): PreparedInput {
  let source: InputSource;
  let options: InputOptions = {};
  if (typeof input === "string") {
    source = /^https?:\/\//i.test(input) ? fromUrl(input) : fromPath(input, cwd);
  } else if (input !== null && typeof input === "object") {
    options = input;
    if ("path" in input && typeof input.path === "string") source = fromPath(input.path, cwd);
    else if ("url" in input && typeof input.url === "string")
      source = fromUrl(input.url, input.fileName);
    else if ("fileId" in input && typeof input.fileId === "string")
      source = { kind: "fileId", fileId: input.fileId };
    else if ("rawText" in input && typeof input.rawText === "string")
      source = { kind: "rawText", rawText: input.rawText };
    else
      throw new InvalidInputError(
        `runBatch: cannot read input ${describe(input)}; give a path or URL string, or an object with one of path, url, fileId or rawText.`,
      );
  } else {
    throw new InvalidInputError(
      `runBatch: cannot read input ${describe(input)}; give a path or URL string, or an object with one of path, url, fileId or rawText.`,
    );
  }
  if (options.key !== undefined && (typeof options.key !== "string" || options.key === ""))
    throw new InvalidInputError(
      `runBatch: input key ${describe(options.key)} must be a non-empty string.`,
    );
  return {
    key: options.key ?? keyOf(source),
    source,
    ...(options.metadata ? { metadata: options.metadata } : {}),
  };
}

function fromPath(path: string, cwd: string): InputSource {
  if (path === "")
    throw new InvalidInputError("runBatch: an input path is empty; give a file's path.");
  const absolute = resolve(cwd, path);
  return { kind: "path", path: absolute, name: basename(absolute) };
}

function fromUrl(url: string, fileName?: string): InputSource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`runBatch: input URL ${describe(url)} is not a valid URL.`);
  }
  const name = fileName ?? (decodeURIComponent(basename(parsed.pathname)) || "download");
  return { kind: "url", url, name };
}

/**
 * The default key: a hash of what identifies the input, so the same input read again (after
 * a crash, or from a second listing) maps to the same journal entry.
 */
export function keyOf(source: InputSource): string {
  const identity =
    source.kind === "path"
      ? `path\0${source.path}`
      : source.kind === "url"
        ? `url\0${source.url}`
        : source.kind === "fileId"
          ? `file\0${source.fileId}`
          : `text\0${source.rawText}`;
  return `in_${createHash("sha256").update(identity).digest("base64url").slice(0, 22)}`;
}

/** A short, safe description of an input for results and messages. */
export function inputLabel(source: InputSource): string {
  switch (source.kind) {
    case "path":
      return source.path;
    case "url":
      return source.url;
    case "fileId":
      return source.fileId;
    case "rawText": {
      const text = source.rawText.replace(/\s+/g, " ").trim();
      return `text: ${text.length > 48 ? `${text.slice(0, 45)}...` : text}`;
    }
  }
}
