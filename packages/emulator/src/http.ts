import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, badRequest } from "./errors.js";

const MAX_JSON_BYTES = 50 * 1024 * 1024;
/** Deeper bodies are refused before parsing: walking them would overflow the stack. */
export const MAX_JSON_DEPTH = 128;

/** The deepest nesting of arrays and objects in a JSON text (strings skipped), without recursion. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** Reads and parses a JSON body; `undefined` when there is none. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BYTES)
      throw new ApiError(
        400,
        "INVALID_REQUEST",
        `The JSON body is larger than ${MAX_JSON_BYTES} bytes.`,
      );
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString("utf8");
  const depth = nestingDepth(text);
  if (depth > MAX_JSON_DEPTH)
    throw badRequest(
      `Invalid request: the JSON body nests ${depth} levels deep; the limit is ${MAX_JSON_DEPTH}.`,
    );
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`Invalid request: the body is not valid JSON (${(error as Error).message}).`);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Query string values as an object; a repeated key keeps its last value. */
export function queryObject(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of params) out[key] = value;
  return out;
}
