import type { Schemas } from "@extendkit/core";

type FileType = Schemas["FileType"];

const BY_EXTENSION: Record<string, FileType> = {
  pdf: "PDF",
  png: "IMG",
  jpg: "IMG",
  jpeg: "IMG",
  tiff: "IMG",
  tif: "IMG",
  svg: "IMG",
  heic: "IMG",
  heif: "IMG",
  bmp: "IMG",
  gif: "IMG",
  webp: "IMG",
  psd: "IMG",
  pcx: "IMG",
  xls: "EXCEL",
  xlsx: "EXCEL",
  xltm: "EXCEL",
  xltx: "EXCEL",
  ods: "EXCEL",
  docx: "DOCX",
  doc: "DOCX",
  wpd: "DOCX",
  dotx: "DOCX",
  odt: "DOCX",
  pptx: "DOCX",
  ppt: "DOCX",
  ppm: "DOCX",
  csv: "CSV",
  txt: "TXT",
  rtf: "TXT",
  lis: "TXT",
  md: "TXT",
  eml: "TXT",
  html: "HTML",
  htm: "HTML",
  xml: "XML",
};

const MEDIA_TYPES: Record<string, FileType> = {
  "application/pdf": "PDF",
  "text/plain": "TXT",
  "text/markdown": "TXT",
  "text/csv": "CSV",
  "text/html": "HTML",
  "application/xml": "XML",
  "text/xml": "XML",
};

/**
 * The file's type, from its bytes first (a PDF named .txt is a PDF) and its name second,
 * or undefined when the service would not accept it.
 */
export function detectFileType(
  name: string,
  head: Uint8Array,
  mediaType?: string,
): FileType | undefined {
  const ascii = Buffer.from(head.subarray(0, 8)).toString("latin1");
  if (ascii.startsWith("%PDF")) return "PDF";
  if (
    ascii.startsWith("\x89PNG") ||
    ascii.startsWith("\xff\xd8\xff") ||
    ascii.startsWith("GIF8") ||
    ascii.startsWith("II*\0") ||
    ascii.startsWith("MM\0*") ||
    ascii.startsWith("BM") ||
    (ascii.startsWith("RIFF") && Buffer.from(head.subarray(8, 12)).toString("latin1") === "WEBP")
  ) {
    return "IMG";
  }
  const extension = name.toLowerCase().split(".").pop() ?? "";
  const byName = name.includes(".") ? BY_EXTENSION[extension] : undefined;
  if (byName) return byName;
  const byMedia = mediaType ? MEDIA_TYPES[mediaType.split(";")[0]?.trim() ?? ""] : undefined;
  if (byMedia) return byMedia;
  // No known extension: accept text, refuse binaries.
  return looksLikeText(head) ? "TXT" : undefined;
}

function looksLikeText(bytes: Uint8Array) {
  const sample = bytes.subarray(0, 4096);
  for (const b of sample) {
    if (b === 0) return false;
    if (b < 9 || (b > 13 && b < 32 && b !== 27)) return false;
  }
  return true;
}
