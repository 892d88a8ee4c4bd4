/**
 * Images for the OCR tests and benchmarks: the sample invoice as a PNG, a JPEG and a scanned
 * PDF (an image with no text layer), and a short letter drawn straight onto a canvas. No
 * vitest imports, so a benchmark script can use them too. Rendering needs the optional
 * @napi-rs/canvas.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { createCanvas, GlobalFonts } from "@napi-rs/canvas";
import { PDFDocument } from "pdf-lib";
import { sampleInvoicePdf } from "../../src/sample.js";

const require = createRequire(import.meta.url);
/** pdfjs's copies of the 14 standard PDF fonts (Liberation and Foxit), to render Helvetica. */
const standardFonts = `${path.join(path.dirname(require.resolve("pdfjs-dist/package.json")), "standard_fonts")}/`;

/** Page 1 of a PDF rendered on white at `scale` (2 is 144 dpi), as PNG or JPEG bytes. */
export async function renderPdfPage(
  pdf: Uint8Array,
  { scale = 2, format = "png" }: { scale?: number; format?: "png" | "jpeg" } = {},
): Promise<Uint8Array> {
  const { getDocument } = await import("pdfjs-dist/legacy/build/pdf.mjs");
  const doc = await getDocument({
    data: new Uint8Array(pdf),
    standardFontDataUrl: standardFonts,
    disableFontFace: true,
    useSystemFonts: false,
    isEvalSupported: false,
    verbosity: 0,
  }).promise;
  try {
    const page = await doc.getPage(1);
    const viewport = page.getViewport({ scale });
    const canvas = createCanvas(Math.ceil(viewport.width), Math.ceil(viewport.height));
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    await page.render({ canvasContext: context as never, canvas: canvas as never, viewport })
      .promise;
    return new Uint8Array(
      format === "png" ? await canvas.encode("png") : await canvas.encode("jpeg", 90),
    );
  } finally {
    await doc.destroy();
  }
}

/** The sample invoice ({@link sampleInvoicePdf}) rendered to a 1224 × 1584 PNG (144 dpi). */
export async function sampleInvoicePng(): Promise<Uint8Array> {
  return renderPdfPage((await sampleInvoicePdf()).bytes);
}

/** The sample invoice as a JPEG (quality 90, 144 dpi). */
export async function sampleInvoiceJpeg(): Promise<Uint8Array> {
  return renderPdfPage((await sampleInvoicePdf()).bytes, { format: "jpeg" });
}

/**
 * A scan of the sample invoice: a letter-size PDF whose only content is the invoice's PNG,
 * drawn over the whole page, with no text layer.
 */
export async function scannedSampleInvoicePdf(): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  // A fixed date keeps the file the same on every run.
  pdf.setCreationDate(new Date("2025-04-12T00:00:00Z"));
  pdf.setModificationDate(new Date("2025-04-12T00:00:00Z"));
  const image = await pdf.embedPng(await sampleInvoicePng());
  const page = pdf.addPage([612, 792]);
  page.drawImage(image, { x: 0, y: 0, width: 612, height: 792 });
  return new Uint8Array(await pdf.save());
}

/** The lines of {@link letterPng}, top to bottom. */
export const LETTER_LINES = [
  "Globex Corporation",
  "12 March 2025",
  "Dear Ms. Alvarez,",
  "Thank you for visiting our plant last week.",
  "The new conveyor line starts in April.",
  "Kind regards,",
  "Hank Scorpio",
];

/**
 * A short letter (no invoice) drawn as text on a 1275 × 1650 canvas (letter paper at 150
 * dpi) in Liberation Sans, the font pdfjs ships, so it looks the same on every machine.
 */
export function letterPng(): Promise<Uint8Array> {
  GlobalFonts.registerFromPath(
    path.join(standardFonts, "LiberationSans-Regular.ttf"),
    "Letter Sans",
  );
  const canvas = createCanvas(1275, 1650);
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = "#000000";
  // Baselines in pixels: blank space after the letterhead, the date, the greeting and the body.
  const baselines = [200, 300, 400, 470, 514, 600, 700];
  LETTER_LINES.forEach((line, i) => {
    context.font = i === 0 ? "40px 'Letter Sans'" : "26px 'Letter Sans'";
    context.fillText(line, 150, baselines[i] as number);
  });
  return canvas.encode("png").then((png) => new Uint8Array(png));
}
