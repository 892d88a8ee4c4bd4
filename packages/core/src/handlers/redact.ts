import { concat } from "./body.js";

/**
 * Finds a secret in bytes under the forms an upstream that echoes requests may give it: as
 * is in any letter case, percent-encoded (as needed, or every byte), JSON-escaped (as
 * needed, or every character as `\uXXXX`), as hex, as UTF-16 in either byte order, and
 * inside base64 or base64url text at each of the three byte alignments.
 */
export interface SecretScanner {
  /** Whether `bytes` hold the secret in any of its forms. */
  test(bytes: Uint8Array): boolean;
  /** The longest form, in bytes: a stream scanned in chunks keeps `span - 1` bytes back. */
  span: number;
}

const encoder = new TextEncoder();

export function createSecretScanner(secret: string): SecretScanner {
  const raw = encoder.encode(secret);
  const hex = (b: number, width: number) => b.toString(16).padStart(width, "0");
  const caseless = new Set([
    secret,
    encodeURIComponent(secret),
    Array.from(raw, (b) => `%${hex(b, 2)}`).join(""),
    JSON.stringify(secret).slice(1, -1),
    Array.from(secret, (c) => `\\u${hex(c.charCodeAt(0), 4)}`).join(""),
    Array.from(raw, (b) => hex(b, 2)).join(""),
  ]);
  const cased: Uint8Array[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = String.fromCharCode(...new Array(shift).fill(0), ...raw);
    // Only the characters made of the secret's bits alone: the edges depend on its neighbours.
    const inner = btoa(padded).slice(
      Math.ceil((8 * shift) / 6),
      Math.floor(padded.length * (8 / 6)),
    );
    // A short fragment would match ordinary text; real API keys give long ones.
    if (inner.length < 12) continue;
    cased.push(
      encoder.encode(inner),
      encoder.encode(inner.replaceAll("+", "-").replaceAll("/", "_")),
    );
  }
  // UTF-16, both byte orders.
  const units = Array.from(secret, (c) => c.charCodeAt(0));
  cased.push(new Uint8Array(units.flatMap((u) => [u & 0xff, u >> 8])));
  cased.push(new Uint8Array(units.flatMap((u) => [u >> 8, u & 0xff])));
  const lower = [...caseless].map((form) => encoder.encode(form.toLowerCase()));
  return {
    span: Math.max(...lower.map((f) => f.length), ...cased.map((f) => f.length)),
    test: (bytes) =>
      cased.some((form) => includes(bytes, form, false)) ||
      lower.some((form) => includes(bytes, form, true)),
  };
}

const fold = (b: number) => (b >= 65 && b <= 90 ? b + 32 : b);

/** Whether `needle` is in `haystack`; with `caseless`, ASCII letters in any case (`needle` lower-case). */
function includes(haystack: Uint8Array, needle: Uint8Array, caseless: boolean): boolean {
  const first = needle[0] as number;
  // The first byte is found natively (indexOf), in both cases when caseless.
  const upper = caseless && first >= 97 && first <= 122 ? first - 32 : first;
  const last = haystack.length - needle.length;
  let lo = haystack.indexOf(first);
  let up = upper === first ? -1 : haystack.indexOf(upper);
  while (lo !== -1 || up !== -1) {
    const at = up === -1 || (lo !== -1 && lo < up) ? lo : up;
    if (at > last) return false;
    let i = 1;
    while (
      i < needle.length &&
      (caseless ? fold(haystack[at + i] as number) : haystack[at + i]) === needle[i]
    )
      i++;
    if (i === needle.length) return true;
    if (at === lo) lo = haystack.indexOf(first, at + 1);
    else up = haystack.indexOf(upper, at + 1);
  }
  return false;
}

/**
 * The rest of a body, scanned as it streams: each chunk is passed on once the bytes after it
 * cannot complete the secret, so no form of it is ever emitted whole. When one is found, the
 * stream fails (the connection is cut) and `onFound` is called. `onWait` says whom the
 * stream waits on: Extend while a read is pending, the caller between its reads.
 */
export function scannedStream(
  head: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  scanner: SecretScanner,
  hooks: {
    onWait(on: string): void;
    onFound(): void;
    onEnd(): void;
    onFail(error: unknown): void;
  },
): ReadableStream<Uint8Array> {
  let pending = head;
  const keep = scanner.span - 1;
  return new ReadableStream<Uint8Array>({
    // Loops until it has passed something on: a pull that enqueues nothing is not repeated.
    async pull(controller) {
      try {
        for (;;) {
          hooks.onWait("Extend's answer");
          const { done, value } = await reader.read();
          if (done) {
            hooks.onEnd();
            if (pending.length) controller.enqueue(pending);
            controller.close();
            return;
          }
          const window = concat([pending, value]);
          if (scanner.test(window)) {
            hooks.onFound();
            void reader.cancel().catch(() => {});
            controller.error(new Error("The answer was cut: it held the server's credentials."));
            return;
          }
          const cut = window.length - keep;
          pending = window.slice(Math.max(0, cut));
          if (cut > 0) {
            controller.enqueue(window.subarray(0, cut));
            hooks.onWait("the caller to read the answer");
            return;
          }
        }
      } catch (error) {
        hooks.onFail(error);
        controller.error(error);
      }
    },
    cancel(reason) {
      hooks.onEnd();
      return reader.cancel(reason);
    },
  });
}
