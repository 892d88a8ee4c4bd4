/** The body was longer than allowed. */
export class BodyTooLargeError extends Error {}

/**
 * Reads a request body up to `limit` bytes (refusing early when `content-length` says more).
 * @throws {BodyTooLargeError}
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) throw new BodyTooLargeError();
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      // Not awaited: some runtimes (Next.js's Edge runtime) never settle a cancel of the
      // request stream, and the caller must get its 413 now.
      reader.cancel().catch(() => {});
      throw new BodyTooLargeError();
    }
    chunks.push(value);
  }
  return concat(chunks);
}

/** Joins byte chunks into one array. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * A stream that passes bytes through until `limit`, then fails (and calls `onLimit`);
 * `onChunk` hears of every chunk, as progress.
 */
export function limitStream(
  limit: number,
  onLimit: () => void,
  onChunk: () => void = () => {},
): TransformStream<Uint8Array, Uint8Array> {
  let size = 0;
  return new TransformStream({
    transform(chunk, controller) {
      onChunk();
      size += chunk.length;
      if (size > limit) {
        onLimit();
        controller.error(new BodyTooLargeError());
        return;
      }
      controller.enqueue(chunk);
    },
  });
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** A host name or address, IPv6 in brackets, and an optional port: what a `Host` holds. */
const HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Whether the request carries a `Host` header that is not a host: such a request is answered
 * 400 on every runtime, whether or not the server in front already refused it.
 */
export function badHost(request: Request): boolean {
  const host = request.headers.get("host");
  return host !== null && !HOST.test(host);
}
