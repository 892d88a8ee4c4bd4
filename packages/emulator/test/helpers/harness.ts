import { createClient, type ExtendClient, type Schemas } from "@extendkit/core";
import { type Emulator, type EmulatorOptions, startEmulator } from "../../src/index.js";
import { responseProblems } from "./spec.js";

export interface TestEmulator {
  emulator: Emulator;
  /** A typed client whose every answer is checked against the spec (a mismatch throws). */
  client: ExtendClient;
  /** Raw HTTP to the emulated API, also checked against the spec; headers default to a valid token and version. */
  request(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string | undefined>; raw?: BodyInit },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Uploads bytes or text as a file (multipart, through the checked client); throws on an error answer. */
  upload(name: string, content: string | Uint8Array, type?: string): Promise<Schemas["File"]>;
  /** The admin API (`/_emulator/...`), not part of the spec. */
  admin(method: string, path: string, body?: unknown): Promise<any>;
  close(): Promise<void>;
}

/** Fetch that validates every emulated-API answer against the spec before handing it back. */
export function specCheckingFetch(base: typeof fetch = fetch) {
  return async (input: Request): Promise<Response> => {
    const response = await base(input);
    const url = new URL(input.url);
    if (url.pathname.startsWith("/_emulator/")) return response;
    const text = await response.clone().text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      throw new Error(
        `${input.method} ${url.pathname} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    const problems = responseProblems(input.method, url.pathname, response.status, body);
    if (problems.length) {
      throw new Error(
        `The emulator's answer does not follow the spec:\n  ${problems.join("\n  ")}\nbody: ${text.slice(0, 800)}`,
      );
    }
    return response;
  };
}

/** Starts an emulator on an ephemeral loopback port with in-memory state. */
export async function startTestEmulator(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const emulator = await startEmulator({ port: 0, db: ":memory:", pageLatencyMs: 0, ...options });
  const checked = specCheckingFetch();
  const client = createClient({ baseUrl: emulator.url, token: emulator.token, fetch: checked });
  return {
    emulator,
    client,
    async request(method, path, init = {}) {
      const headers: Record<string, string> = {};
      const merged = {
        authorization: `Bearer ${emulator.token}`,
        "x-extend-api-version": "2025-04-21",
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...init.headers,
      };
      for (const [k, v] of Object.entries(merged)) if (v !== undefined) headers[k] = v;
      const request = new Request(emulator.url + path, {
        method,
        headers,
        ...(init.raw !== undefined
          ? { body: init.raw }
          : init.body !== undefined
            ? { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) }
            : {}),
      });
      const response = await checked(request);
      const text = await response.text();
      return {
        status: response.status,
        body: text ? JSON.parse(text) : undefined,
        headers: response.headers,
      };
    },
    async upload(name, content, type = "application/octet-stream") {
      const form = new FormData();
      const part = typeof content === "string" ? content : new Uint8Array(content);
      form.append("file", new Blob([part], { type }), name);
      const { data, error } = await client.POST("/files/upload", { body: form as never });
      if (error) throw new Error(`upload of ${name} failed: ${error.error}`);
      return data.file;
    },
    async admin(method, path, body) {
      const response = await fetch(`${emulator.url}/_emulator${path}`, {
        method,
        headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = await response.json();
      if (!response.ok)
        throw new Error(`admin ${method} ${path} → ${response.status}: ${JSON.stringify(json)}`);
      return json;
    },
    close: () => emulator.close(),
  };
}

/** Polls until `check` answers a value, with a bound (the engine runs on real timers). */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 10_000, everyMs = 10 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** An invoice as text, the kind of document the seeded workflow handles. */
export function invoiceText(n: number, total = 100 + n) {
  return [
    "ACME Supplies Ltd",
    "INVOICE",
    `Invoice Number: INV-${String(n).padStart(4, "0")}`,
    "Invoice Date: 2025-03-14",
    "Due Date: 2025-04-13",
    "Bill To: Globex Corporation",
    `Subtotal: $${(total / 1.1).toFixed(2)}`,
    `Tax: $${(total - total / 1.1).toFixed(2)}`,
    `Total Due: $${total.toFixed(2)}`,
  ].join("\n");
}
