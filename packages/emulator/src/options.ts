import type { FaultOptions } from "./faults.js";
import type { OcrFunction } from "./processors/layout.js";
import type { RateLimitOptions } from "./rate-limit.js";
import type { SeedDocument } from "./seed.js";

/**
 * Options of {@link startEmulator} (and flags of the `extendkit-emulator` CLI).
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({
 *   port: 4010,
 *   db: "emulator.db",
 *   token: "test_token",
 *   pageLatencyMs: 50,
 *   rateLimit: { get: 50, write: 20, run: 5 },
 *   log: (line) => console.log(line),
 * });
 * ```
 */
export interface EmulatorOptions {
  /**
   * Port to listen on; `0` picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Interface to listen on. Keep it on loopback: the emulator has no real security.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * SQLite database: a file path, or `":memory:"` for state that ends with the process.
   * A run created before a restart on the same file is still there after it, and finishes.
   * @default ":memory:"
   */
  db?: string;
  /**
   * Folder for uploaded file bytes. Defaults to `<db>.files` beside a database file, or a
   * temporary folder (removed on close) for `:memory:`.
   * @default undefined
   */
  dataDir?: string;
  /**
   * The bearer token the emulator accepts; any other token answers 401.
   * @default "extendkit_emulator_token"
   */
  token?: string;
  /**
   * What to load into a fresh database: `"default"` (an invoice workflow with its
   * processors), `"none"`, a path to a seed JSON file, or a seed document.
   * @default "default"
   */
  seed?: "default" | "none" | string | SeedDocument;
  /**
   * What a request without `x-extend-api-version` gets: `"reject"` answers 400, as for
   * keys created after 2025-04-21; `"fallback"` serves it and adds a `warning`.
   * @default "reject"
   */
  missingVersion?: "reject" | "fallback";
  /**
   * How many runs execute at once.
   * @default 4
   */
  concurrency?: number;
  /**
   * Simulated processing time per page, per processing step, in milliseconds.
   * @default 0
   */
  pageLatencyMs?: number;
  /**
   * Largest upload accepted, in bytes; larger ones answer 400 `FILE_SIZE_TOO_LARGE`.
   * @default 104857600
   */
  maxUploadBytes?: number;
  /**
   * How long `sync: true` processor runs wait before answering with the run in progress.
   * @default 300000
   */
  syncTimeoutMs?: number;
  /**
   * Per-category token buckets; `false` turns rate limiting off.
   * @default false
   */
  rateLimit?: RateLimitOptions | false;
  /**
   * Fault injection rules, for testing clients.
   * @default { rules: [] }
   */
  faults?: FaultOptions;
  /** Webhook delivery settings. */
  webhooks?: WebhookDeliveryOptions;
  /**
   * Reads the text of uploaded images and of scanned PDF pages (rendered to PNG), in place
   * of the built-in OCR. The built-in OCR uses the optional dependencies tesseract.js and
   * `@tesseract.js-data/eng` (English, read from disk: nothing is downloaded or cached), and
   * @napi-rs/canvas to render scanned pages; without them images parse to empty text, with
   * an `x-extendkit-warning` header that says what to install.
   * @default undefined
   */
  ocr?: OcrFunction;
  /**
   * Where to write one line per request and per webhook attempt; `undefined` is silent.
   * @default undefined
   */
  log?: (line: string) => void;
}

/**
 * How the emulator delivers webhooks: the receiver's time to answer, and the retry
 * schedule of failed deliveries.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({
 *   webhooks: { timeoutMs: 5_000, retryDelaysMs: [100, 500, 2_000] },
 * });
 * ```
 */
export interface WebhookDeliveryOptions {
  /**
   * How long a receiver has to answer 2xx before the attempt counts as failed.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * Delay before each retry of a failed delivery, in milliseconds; its length is the
   * number of retries. The vendor's schedule is undocumented; this backs off by 5x.
   * @default [1000, 5000, 25000, 125000, 625000]
   */
  retryDelaysMs?: number[];
  /**
   * The current time in milliseconds, for tests. Deliveries come due on this clock (their
   * `nextAttemptAt` is set and compared on it), so a test can hold a retry back, or make it
   * due without waiting, by moving it. It is read when deliveries are scheduled (at start,
   * on a new event, after an attempt, on a redelivery): moving it does not wake a running
   * emulator by itself. Signature timestamps and the other recorded times stay real.
   * @default Date.now
   */
  now?: () => number;
}

/**
 * {@link EmulatorOptions} with every default applied, as a running emulator reports them in
 * {@link Emulator.options}.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator();
 * const { port, token, webhooks } = emulator.options;
 * console.log(port, token, webhooks.retryDelaysMs);
 * ```
 */
export type ResolvedOptions = Required<
  Omit<EmulatorOptions, "dataDir" | "log" | "faults" | "webhooks" | "rateLimit" | "ocr">
> & {
  /** The `dataDir` option as given; `undefined` when the emulator chose the folder itself. */
  dataDir: string | undefined;
  /** Where request and webhook log lines go; `undefined` is silent. */
  log: ((line: string) => void) | undefined;
  /** The OCR function for images, if one was given. */
  ocr: OcrFunction | undefined;
  /** The fault rules the emulator started with. */
  faults: FaultOptions;
  /** The rate limits per category, or `false` for none. */
  rateLimit: RateLimitOptions | false;
  /** Webhook delivery settings, defaults applied. */
  webhooks: Required<WebhookDeliveryOptions>;
};

/** The bearer token the emulator accepts when no `token` option is given. */
export const DEFAULT_TOKEN = "extendkit_emulator_token";

export function resolveOptions(options: EmulatorOptions = {}): ResolvedOptions {
  return {
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    db: options.db ?? ":memory:",
    dataDir: options.dataDir,
    token: options.token ?? DEFAULT_TOKEN,
    seed: options.seed ?? "default",
    missingVersion: options.missingVersion ?? "reject",
    concurrency: options.concurrency ?? 4,
    pageLatencyMs: options.pageLatencyMs ?? 0,
    maxUploadBytes: options.maxUploadBytes ?? 100 * 1024 * 1024,
    syncTimeoutMs: options.syncTimeoutMs ?? 300_000,
    rateLimit: options.rateLimit ?? false,
    faults: options.faults ?? { rules: [] },
    webhooks: {
      timeoutMs: options.webhooks?.timeoutMs ?? 30_000,
      retryDelaysMs: options.webhooks?.retryDelaysMs ?? [1000, 5000, 25_000, 125_000, 625_000],
      now: options.webhooks?.now ?? Date.now,
    },
    log: options.log,
    ocr: options.ocr,
  };
}
