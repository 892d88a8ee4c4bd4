import {
  type ClientInternals,
  clientInternals,
  type ExtendClient,
  type ThrowingExtendClient,
  toApiError,
} from "./client.js";
import type { ApiError } from "./errors.js";
import type { components } from "./generated/extend-api.js";
import { rebuildable } from "./transport.js";

/** What can be uploaded: a `Blob` or `File`, bytes, or a web `ReadableStream` of bytes. */
export type UploadSource = Blob | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array>;

/**
 * Options of {@link uploadFile} (and of `uploadFileFromPath` in `@extendkit/core/node`).
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("Invoice #42, total $120.00");
 * const { data, error } = await uploadFile(extend, bytes, {
 *   name: "invoice-42.txt",
 *   contentType: "text/plain",
 *   signal: AbortSignal.timeout(60_000),
 * });
 * ```
 */
export interface UploadOptions {
  /**
   * The file's name, which is also how the API infers its type. Defaults to a `File`'s own
   * name; required for bytes and streams.
   */
  name?: string;
  /**
   * Media type of the part (the API infers the type from the name and bytes anyway).
   * @default "application/octet-stream"
   */
  contentType?: string;
  /** Abort the upload. */
  signal?: AbortSignal;
}

/**
 * What {@link uploadFile} resolves to, in openapi-fetch's style: the uploaded file as
 * `data`, or an {@link ApiError} as `error` (thrown instead with `throwOnError: true`),
 * with the raw `response` either way.
 */
export type UploadResult =
  | {
      /** The API's answer, with the stored file under `file`. */
      data: components["schemas"]["FileResponse"];
      /** Absent on success. */
      error?: undefined;
      /** The HTTP response of the upload. */
      response: Response;
    }
  | {
      /** Absent on failure. */
      data?: undefined;
      /** Why the upload was refused. */
      error: ApiError;
      /** The HTTP response of the upload. */
      response: Response;
    };

function internalsOf(client: object): ClientInternals {
  const internals = clientInternals.get(client);
  if (!internals)
    throw new TypeError("uploadFile: pass a client made by createClient() from @extendkit/core.");
  return internals;
}

/** A multipart body streamed from `source`, never held whole in memory. */
function streamingMultipart(source: ReadableStream<Uint8Array>, name: string, contentType: string) {
  const boundary = `extendkit-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const encoder = new TextEncoder();
  const quoted = name.replace(/["\\\r\n]/g, "_");
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted}"\r\nContent-Type: ${contentType}\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  const reader = source.getReader();
  let stage: "head" | "body" | "done" = "head";
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (stage === "head") {
        stage = "body";
        controller.enqueue(head);
        return;
      }
      const { value, done } = await reader.read();
      if (done) {
        controller.enqueue(tail);
        controller.close();
        stage = "done";
      } else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * Uploads a file (`POST /files/upload`) from a `Blob`/`File`, bytes, or a web
 * `ReadableStream`. Blobs are streamed from their source (a `File` from disk, or Node's
 * `fs.openAsBlob`), and a stream is sent as it is read, so large files are not loaded
 * whole into memory. A blob or bytes upload is sent again only when the API certainly did
 * not take it (429, 503, a refused connection); a stream is sent once.
 *
 * @example
 * ```ts
 * const input = document.querySelector<HTMLInputElement>("#file")!;
 * const { data, error } = await uploadFile(extend, input.files![0]!);
 * if (error) throw error;
 * console.log(data.file.id);
 * ```
 */
export async function uploadFile(
  client: ExtendClient | ThrowingExtendClient,
  source: UploadSource,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const { transport, baseUrl, headers, throwOnError } = internalsOf(client);
  const name =
    options.name ??
    (typeof File !== "undefined" && source instanceof File ? source.name : undefined);
  if (!name)
    throw new TypeError(
      'uploadFile: pass `name` (for example "invoice.pdf"): the API infers the file\'s type from it.',
    );
  const contentType =
    options.contentType ??
    (source instanceof Blob && source.type ? source.type : "application/octet-stream");
  const url = `${baseUrl}/files/upload`;
  // `redirect: "error"`: a fetch that may follow redirects (undici's, Node's built-in) tees a
  // streamed body to replay it, and the unread branch keeps every byte sent until the answer
  // arrives, so a "streamed" upload would sit whole in memory. An upload is never replayed
  // on a redirect anyway (a stream cannot be, and the API does not redirect uploads).
  const base = {
    method: "POST",
    headers,
    redirect: "error" as const,
    ...(options.signal ? { signal: options.signal } : {}),
  };

  // On Node (and Bun, Deno), our own pull-based stream, never a FormData or Blob body: Node
  // 24's fetch pushes those into the request from a detached task, and when the server
  // answers before reading the whole body (a 429, 401 or 500 to an upload), that task throws
  // into the void and the process dies of an unhandled rejection. A stream we hand over is
  // only pulled. Browsers keep FormData: they stream request bodies only over HTTP/2, if at
  // all, and their fetch has no such task.
  const streamed = (stream: ReadableStream<Uint8Array>) => {
    const multipart = streamingMultipart(stream, name, contentType);
    return new Request(url, {
      ...base,
      headers: { ...headers, "content-type": multipart.contentType },
      body: multipart.body,
      duplex: "half",
    } as RequestInit);
  };
  let request: Request;
  if (source instanceof ReadableStream) {
    request = streamed(source);
  } else {
    const blob =
      source instanceof Blob
        ? source
        : new Blob([source instanceof Uint8Array ? new Uint8Array(source) : source], {
            type: contentType,
          });
    // A Blob can be read again, so a retry sends a fresh body of it.
    const build = serverRuntime()
      ? () => streamed(blob.stream())
      : () => {
          const form = new FormData();
          form.append("file", blob, name);
          return new Request(url, { ...base, body: form });
        };
    request = build();
    rebuildable.set(request, build);
  }

  const response = await transport(request);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text for the error.
  }
  if (response.ok) return { data: body as components["schemas"]["FileResponse"], response };
  const error = toApiError(response, body);
  if (throwOnError) throw error;
  return { error, response };
}

/** Whether this is Node or a runtime that copies its `process` (Bun, Deno), not a browser. */
function serverRuntime(): boolean {
  const scope = globalThis as { process?: { versions?: { node?: unknown } }; document?: unknown };
  return typeof scope.process?.versions?.node === "string" && scope.document === undefined;
}
