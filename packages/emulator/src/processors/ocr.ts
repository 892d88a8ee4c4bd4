/**
 * Built-in OCR for images and scanned PDF pages: tesseract.js with the English data of
 * `@tesseract.js-data/eng`, both optional dependencies, loaded on first use. The language
 * data is read from that package's folder on disk and the wasm core from `tesseract.js-core`,
 * so OCR never downloads anything and writes no cache.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Worker as TesseractWorker } from "tesseract.js";

/** The install command a warning gives when the optional OCR packages are missing. */
export const OCR_INSTALL = "npm install tesseract.js @tesseract.js-data/eng";

/** A word read by OCR, in page points from the top-left corner; `bottom` is its baseline. */
export interface OcrRun {
  text: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** The estimated font size of the word's line, in points. */
  size: number;
  /** Always a separate word: a space goes before it when it joins a cell. */
  spaced: true;
}

/**
 * What OCR read from one image: its words, on a page of `width` × `height` points; or why it
 * read nothing, as a clause for a warning.
 */
export type OcrResult =
  | { ok: true; width: number; height: number; runs: OcrRun[] }
  | { ok: false; reason: string };

/** Reads images with one OCR worker, created on first use and ended by {@link OcrEngine.close}. */
export interface OcrEngine {
  /**
   * Reads an image (PNG, JPEG, BMP, GIF, TIFF or WebP). Its page is `pageWidth` points wide
   * (US letter, 612, by default) and as tall as the image's proportions make it.
   */
  read(image: Uint8Array, pageWidth?: number): Promise<OcrResult>;
  /** Waits for the image being read, then ends the worker; later reads answer a reason. */
  close(): Promise<void>;
}

/** Where the engine gets tesseract.js and its language data; tests point it at missing ones. */
export interface OcrLoader {
  /** Imports tesseract.js. */
  tesseract(): Promise<unknown>;
  /** The folder holding `eng.traineddata.gz`. */
  languageFolder(): string;
}

/** tesseract.js and `@tesseract.js-data/eng` as installed next to the emulator. */
export const defaultOcrLoader: OcrLoader = {
  tesseract: () => import("tesseract.js"),
  // The LSTM-only ("best_int") model: the one tesseract.js itself picks for its default
  // engine mode, and a quarter of the size of the folder that also holds the legacy model.
  languageFolder: () =>
    path.join(
      path.dirname(moduleRequire().resolve("@tesseract.js-data/eng/package.json")),
      "4.0.0_best_int",
    ),
};

/** `require` relative to this module, in the ESM build as in the CommonJS one. */
function moduleRequire(): NodeJS.Require {
  return typeof require === "function" ? require : createRequire(import.meta.url);
}

/** Workers started and not yet ended, across engines: a test checks `close()` ends them. */
const liveWorkers = new Set<TesseractWorker>();

/** How many OCR workers are running now (for tests). */
export function liveOcrWorkers(): number {
  return liveWorkers.size;
}

/** The OCR settings a worker is created with: local data, gzip, no cache. */
export function workerOptions(loader: OcrLoader) {
  return {
    langPath: loader.languageFolder(),
    gzip: true,
    // "none" neither reads nor writes `eng.traineddata` in the working directory.
    cacheMethod: "none",
  };
}

/**
 * An OCR engine on tesseract.js. Nothing loads until the first read; one worker then reads
 * every image, one at a time (tesseract uses a whole core per image).
 */
export function createOcrEngine(loader: OcrLoader = defaultOcrLoader): OcrEngine {
  let worker: Promise<Started | { unavailable: string }> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const start = async (): Promise<Started | { unavailable: string }> => {
    try {
      const module = (await loader.tesseract()) as {
        createWorker?: typeof import("tesseract.js").createWorker;
        default?: { createWorker?: typeof import("tesseract.js").createWorker };
      };
      const create = module.createWorker ?? module.default?.createWorker;
      if (!create) throw new Error("tesseract.js has no createWorker");
      const options = workerOptions(loader);
      // tesseract.js waits forever, rather than failing, when its data file is missing.
      if (!existsSync(path.join(options.langPath, "eng.traineddata.gz")))
        throw Object.assign(new Error(`no eng.traineddata.gz in ${options.langPath}`), {
          code: "MODULE_NOT_FOUND",
        });
      // Without an error handler tesseract.js throws a failed job's error from its message
      // listener, which would crash the process; a failure while starting also never settles
      // `createWorker`, so the handler fails the start instead.
      let failStart: (error: unknown) => void = () => {};
      const failed = new Promise<never>((_, reject) => {
        failStart = reject;
      });
      const created = await Promise.race([
        // 1 is OEM.LSTM_ONLY, the model in the data folder.
        create("eng", 1, { ...options, errorHandler: (error: unknown) => failStart(error) }),
        failed,
      ]);
      liveWorkers.add(created);
      const started: Started = {
        api: created,
        died: Promise.resolve() as never,
        dead: false,
        ending: false,
      };
      started.died = new Promise<never>((_, reject) => {
        const die = (error: Error) => {
          started.dead = true;
          liveWorkers.delete(created);
          reject(error);
        };
        // tesseract.js sets the thread's `onerror`, which a Node worker thread never calls:
        // without these listeners a thread that dies (out of memory, an abort in the wasm)
        // crashes the process, and the read it was doing waits for ever.
        const thread = threadOf(created);
        thread?.on("error", (error: Error) => die(error));
        thread?.on("exit", (code: number) => {
          if (!started.ending) die(new Error(`the OCR worker stopped (exit code ${code})`));
        });
      });
      started.died.catch(() => {});
      return started;
    } catch (error) {
      return { unavailable: unavailableReason(error) };
    }
  };

  const recognize = async (image: Uint8Array, pageWidth: number): Promise<OcrResult> => {
    if (closed) return { ok: false, reason: "the emulator is closing" };
    worker ??= start();
    const current = worker;
    const ready = await current;
    if ("unavailable" in ready) return { ok: false, reason: ready.unavailable };
    try {
      const { data } = await Promise.race([
        ready.api.recognize(
          Buffer.from(image.buffer, image.byteOffset, image.byteLength),
          {},
          { blocks: true, tsv: true, text: false },
        ),
        ready.died,
      ]);
      const size = imageSize(data.tsv);
      if (!size) return { ok: true, width: pageWidth, height: pageWidth, runs: [] };
      const scale = pageWidth / size.width;
      return {
        ok: true,
        width: pageWidth,
        height: size.height * scale,
        runs: wordsToRuns(data.blocks ?? [], scale),
      };
    } catch (error) {
      // A dead worker is replaced on the next read.
      if (ready.dead && worker === current) worker = undefined;
      const message = errorMessage(error).replace(/^Error: /, "");
      return { ok: false, reason: `OCR could not read it (${message})` };
    }
  };

  return {
    async read(image, pageWidth = 612) {
      // Tesseract prints its own errors on an image it cannot decode: stop SVG or HEIC here.
      if (!readableImage(image))
        return {
          ok: false,
          reason:
            "OCR reads PNG, JPEG, GIF, BMP, TIFF and WebP images, and this is none of them; convert it to PNG",
        };
      const pixels = imagePixels(image);
      if (pixels && pixels.width * pixels.height > MAX_IMAGE_PIXELS)
        return {
          ok: false,
          reason: `the image is ${pixels.width}×${pixels.height} pixels, more than the ${MAX_IMAGE_PIXELS / 1e6} megapixels OCR reads; scale it down (300 dpi is plenty)`,
        };
      // A PNG or JPEG cut short makes the decoder print errors of its own: say it here.
      if (!completeImage(image))
        return {
          ok: false,
          reason: "the image is incomplete or damaged (it has no end marker); upload it again",
        };
      const result = queue.then(() => recognize(image, pageWidth));
      queue = result.catch(() => {});
      return result;
    },
    async close() {
      closed = true;
      await queue;
      const ready = await worker;
      if (ready && !("unavailable" in ready) && !ready.dead) {
        ready.ending = true;
        await ready.api.terminate();
        liveWorkers.delete(ready.api);
      }
    },
  };
}

/** A worker made by tesseract.js, and what became of its thread. */
interface Started {
  api: TesseractWorker;
  /** Rejects when the thread dies on its own (not when `close()` ends it). */
  died: Promise<never>;
  dead: boolean;
  ending: boolean;
}

/** The Node worker thread behind a tesseract.js worker (its `worker` property). */
function threadOf(worker: TesseractWorker): NodeWorkerThread | undefined {
  return (worker as unknown as { worker?: NodeWorkerThread }).worker;
}

interface NodeWorkerThread {
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "exit", listener: (code: number) => void): unknown;
  terminate(): Promise<number>;
}

/** The threads of the OCR workers now running (for tests that kill one). */
export function liveOcrThreads(): NodeWorkerThread[] {
  return [...liveWorkers].flatMap((worker) => threadOf(worker) ?? []);
}

/** The largest image OCR reads: 50 megapixels, an A4 page at 600 dpi and then some. */
const MAX_IMAGE_PIXELS = 50_000_000;

/** A PNG's or JPEG's size in pixels, from its header; undefined for other formats. */
function imagePixels(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] === 0x89 && bytes.length >= 24)
    return { width: view.getUint32(16), height: view.getUint32(20) };
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  // JPEG: walk the segments to the first start-of-frame marker (C0–CF but C4, C8 and CC).
  for (let at = 2; at + 9 < bytes.length; ) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
      return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    at += 2 + view.getUint16(at + 2);
  }
  return undefined;
}

/** Whether the bytes start like an image format tesseract decodes. */
function readableImage(bytes: Uint8Array): boolean {
  const ascii = (start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));
  return (
    (bytes[0] === 0x89 && ascii(1, 4) === "PNG") ||
    (bytes[0] === 0xff && bytes[1] === 0xd8) ||
    ascii(0, 4) === "GIF8" ||
    ascii(0, 2) === "BM" ||
    ascii(0, 4) === "II*\0" ||
    ascii(0, 4) === "MM\0*" ||
    (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") ||
    /^P[1-6]\s$/.test(ascii(0, 3))
  );
}

/** Whether a PNG has its IEND chunk and a JPEG its end-of-image marker (other formats pass). */
function completeImage(bytes: Uint8Array): boolean {
  // Anywhere, not only at the end: phones append a video to a "motion photo" JPEG, and tools
  // add chunks or padding after a PNG's end.
  const all = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] === 0x89 && String.fromCharCode(...bytes.subarray(1, 4)) === "PNG")
    return all.includes("IEND");
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return all.includes(Buffer.from([0xff, 0xd9]), 2);
  return true;
}

/** Why OCR cannot run, and what to do about it. */
function unavailableReason(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  const missing = code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
  const cause = missing
    ? "OCR needs the optional packages tesseract.js and @tesseract.js-data/eng, which are not installed"
    : `OCR could not start (${errorMessage(error)})`;
  return `${cause}: run \`${OCR_INSTALL}\`, or give the emulator an \`ocr\` function`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The image's size in pixels: the page row (level 1) of tesseract's TSV output. */
function imageSize(tsv: string | null): { width: number; height: number } | undefined {
  for (const row of (tsv ?? "").split("\n")) {
    const fields = row.split("\t");
    if (fields[0] !== "1") continue;
    const width = Number(fields[8]);
    const height = Number(fields[9]);
    if (width > 0 && height > 0) return { width, height };
  }
  return undefined;
}

type Block = NonNullable<
  Awaited<ReturnType<TesseractWorker["recognize"]>>["data"]["blocks"]
>[number];

/**
 * Tesseract's words as runs in points. Each word sits on its line's baseline and gets the
 * line's font size, so the words of a line (and of lines tesseract split into blocks on the
 * same row) group into one line again, like a PDF's text runs.
 */
function wordsToRuns(blocks: Block[], scale: number): OcrRun[] {
  const runs: OcrRun[] = [];
  for (const block of blocks)
    for (const paragraph of block.paragraphs)
      for (const line of paragraph.lines) {
        const words = line.words.filter(keepWord);
        if (words.length === 0) continue;
        const { x0, y0, x1, y1 } = line.baseline;
        const baselineAt = (x: number) =>
          x1 === x0 ? y0 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
        // Capitals and ascenders rise about 0.72 em above the baseline (Helvetica, Arial,
        // Times); tesseract's row height (x-height plus ascenders and descenders) is close
        // to 1 em and covers lines without either.
        // The median word's rise: one tall word (a bracket, a stray mark) does not count.
        const rises = words
          .map((w) => baselineAt((w.bbox.x0 + w.bbox.x1) / 2) - w.bbox.y0)
          .sort((a, b) => a - b);
        const rise = rises[Math.floor(rises.length / 2)] as number;
        const size = Math.max(rise / 0.72, line.rowAttributes?.rowHeight ?? 0) * scale;
        for (const word of words) {
          const baseline = baselineAt((word.bbox.x0 + word.bbox.x1) / 2) * scale;
          runs.push({
            text: word.text.trim(),
            left: word.bbox.x0 * scale,
            right: word.bbox.x1 * scale,
            top: baseline - size,
            bottom: baseline,
            size,
            spaced: true,
          });
        }
      }
  return runs;
}

/** Drops empty words and stray marks (rules, specks) tesseract read with little confidence. */
function keepWord(word: { text: string; confidence: number }): boolean {
  const text = word.text.trim();
  if (!text) return false;
  return /[\p{L}\p{N}]/u.test(text) || word.confidence >= 50;
}

/** The scale pages are rendered at for OCR: 216 dpi, capped at 4,000 pixels a side. */
export const RENDER_SCALE = 3;
const MAX_RENDER_PIXELS = 4000;

/** The parts of a pdfjs page that rendering it needs. */
export interface RenderablePage {
  getViewport(options: { scale: number }): { width: number; height: number };
  render(options: { canvasContext: never; canvas: never; viewport: never }): {
    promise: Promise<void>;
  };
}

/**
 * A PDF page as a PNG, on white, for OCR, with @napi-rs/canvas (optional); the answer's
 * `scale` is pixels per point. Without the canvas package it answers why instead.
 */
export async function renderPageImage(
  page: RenderablePage,
): Promise<{ png: Uint8Array; scale: number } | { reason: string }> {
  let canvasModule: typeof import("@napi-rs/canvas");
  try {
    canvasModule = await import("@napi-rs/canvas");
  } catch {
    return {
      reason:
        "rendering it for OCR needs the optional package @napi-rs/canvas (`npm install @napi-rs/canvas`)",
    };
  }
  try {
    const base = page.getViewport({ scale: 1 });
    const scale = Math.min(RENDER_SCALE, MAX_RENDER_PIXELS / Math.max(base.width, base.height));
    const viewport = page.getViewport({ scale });
    const canvas = canvasModule.createCanvas(Math.ceil(viewport.width), Math.ceil(viewport.height));
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    await page.render({
      canvasContext: context as never,
      canvas: canvas as never,
      viewport: viewport as never,
    }).promise;
    return { png: new Uint8Array(await canvas.encode("png")), scale };
  } catch (error) {
    return { reason: `it could not be rendered for OCR (${errorMessage(error)})` };
  }
}
