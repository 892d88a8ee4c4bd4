import { describe, expect, test } from "vitest";
import { createSecretScanner, scannedStream } from "../src/handlers/redact.js";

const TOKEN = "sk_live_Proxy+Token/789=xyz";
const scanner = createSecretScanner(TOKEN);
const bytes = (text: string) => new TextEncoder().encode(text);
const base64 = (text: string) => Buffer.from(text).toString("base64");
const base64url = (text: string) => Buffer.from(text).toString("base64url");

/** Chunk sizes that vary yet repeat for a seed: a small linear congruential sequence. */
function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
}

describe("createSecretScanner", () => {
  test.each([
    ["as is", `{"authorization":"Bearer ${TOKEN}"}`],
    ["upper-case", `AUTHORIZATION: BEARER ${TOKEN.toUpperCase()}`],
    ["lower-case", `authorization: bearer ${TOKEN.toLowerCase()}`],
    ["percent-encoded", `?auth=Bearer%20${encodeURIComponent(TOKEN)}`],
    ["percent-encoded, lower-case escapes", `x=${encodeURIComponent(TOKEN).toLowerCase()}`],
    ["hex", `dump: ${Buffer.from(TOKEN).toString("hex")}`],
    ["in base64 (aligned)", base64(TOKEN)],
    ["in base64 after 1 byte", base64(`x${TOKEN}`)],
    ["in base64 after 2 bytes", base64(`xy${TOKEN}`)],
    [
      "in base64 of a whole request head",
      base64(`GET / HTTP/1.1\r\nauthorization: Bearer ${TOKEN}\r\n`),
    ],
    ["in base64url after 1 byte", base64url(`x${TOKEN}`)],
    ["in base64url after 2 bytes", base64url(`ab${TOKEN}`)],
  ])("finds the token %s", (_, text) => {
    expect(scanner.test(bytes(`before ${text} after`))).toBe(true);
  });

  test.each([
    ["an ordinary answer", '{"success":true,"workflowRun":{"id":"workflow_run_1"}}'],
    ["the token with one character changed", TOKEN.replace("789", "788")],
    ["all but the token's last character", TOKEN.slice(0, -1)],
    ["an empty body", ""],
  ])("finds nothing in %s", (_, text) => {
    expect(scanner.test(bytes(text))).toBe(false);
  });

  test("a token shorter than a base64 fragment is still found as is", () => {
    const short = createSecretScanner("abc123");
    expect(short.test(bytes("x abc123 y"))).toBe(true);
    expect(short.test(bytes("nothing here"))).toBe(false);
  });
});

/** Reads a stream to its end; answers the bytes read and the error it failed with, if any. */
async function drain(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: Buffer.concat(chunks).toString(), error: undefined };
      chunks.push(value);
    }
  } catch (error) {
    return { text: Buffer.concat(chunks).toString(), error };
  }
}

function chunked(text: string, random: () => number) {
  const all = bytes(text);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < all.length; ) {
        const size = 1 + Math.floor(random() * 40);
        controller.enqueue(all.slice(at, at + size));
        at += size;
      }
      controller.close();
    },
  });
}

describe("scannedStream", () => {
  const hooks = () => {
    const seen = { reads: 0, found: 0, ended: 0, failed: 0 };
    return {
      seen,
      hooks: {
        onWait: (on: string) => void (on === "Extend's answer" && seen.reads++),
        onFound: () => void seen.found++,
        onEnd: () => void seen.ended++,
        onFail: () => void seen.failed++,
      },
    };
  };

  test.each([1, 2, 3, 4, 5])(
    "passes a clean body through byte for byte, whatever its chunks (seed %i)",
    async (seed) => {
      const text = `${"é€ clean ".repeat(300)}${TOKEN.slice(0, -1)} end`;
      const { seen, hooks: h } = hooks();
      const out = await drain(
        scannedStream(bytes("head "), chunked(text, seeded(seed)).getReader(), scanner, h),
      );
      expect(out.error).toBeUndefined();
      expect(out.text).toBe(`head ${text}`);
      expect(seen.found).toBe(0);
      expect(seen.ended).toBe(1);
      expect(seen.reads).toBeGreaterThan(10);
      expect(seen.failed).toBe(0);
    },
  );

  test.each([1, 2, 3, 4, 5])(
    "cuts a body that holds the token, split across chunks, before any of it goes out (seed %i)",
    async (seed) => {
      const text = `${"x".repeat(500)}authorization: Bearer ${TOKEN}${"y".repeat(500)}`;
      const { seen, hooks: h } = hooks();
      const out = await drain(
        scannedStream(new Uint8Array(), chunked(text, seeded(seed)).getReader(), scanner, h),
      );
      expect(out.error).toBeInstanceOf(Error);
      expect(out.text).not.toContain(TOKEN.slice(0, 8));
      expect(out.text.length).toBeLessThan(500 + 40);
      expect(seen.found).toBe(1);
    },
  );
});
