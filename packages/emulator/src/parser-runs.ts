import type { Schemas } from "@extendkit/core";
import { type Context, signedUrl } from "./context.js";
import { isStopReason } from "./engine.js";
import { notFound } from "./errors.js";
import { fileLayout } from "./files.js";
import { newId, PREFIX } from "./ids.js";
import { simulateWork } from "./processing.js";
import { ProcessingError } from "./processors/errors.js";
import { effectiveParseConfig, toChunks } from "./processors/parse.js";

// The emulator always sends `object`, which the spec makes optional on the bare parse answers
// and the parser_run.* payloads (the vendor's client does not type it there).
type ParserRun = Schemas["ParserRun"] & { object: "parser_run" };
type ParserRunStatus = Schemas["ParserRunStatus"] & { object: "parser_run_status" };

export interface ParserRunInternal {
  config: Schemas["ParseConfig"];
}

const CHUNKS_URL_TTL_SECONDS = 15 * 60;

/** Parses a file into a finished run (errors are ProcessingErrors with the brief's codes). */
async function parse(
  ctx: Context,
  id: string,
  fileId: string,
  config: Schemas["ParseConfig"] | undefined,
  signal: AbortSignal,
): Promise<ParserRun> {
  const started = performance.now();
  const effective = effectiveParseConfig(config);
  const layout = await fileLayout(ctx, fileId);
  await simulateWork(ctx, layout.pages.length, signal);
  return {
    object: "parser_run",
    id,
    fileId,
    chunks: toChunks(layout, effective),
    status: "PROCESSED",
    metrics: {
      processingTimeMs: Math.round((performance.now() - started) * 100) / 100,
      pageCount: layout.pages.length,
    },
    config: effective,
  };
}

/** `POST /parse`: parse now and keep the run. */
export async function parseNow(
  ctx: Context,
  fileId: string,
  config: Schemas["ParseConfig"] | undefined,
): Promise<ParserRun> {
  const id = newId(PREFIX.parserRun);
  const run = await parse(ctx, id, fileId, config, new AbortController().signal);
  ctx.store.insert("parser_run", id, run, { parentId: fileId, status: run.status });
  return run;
}

/** `POST /parse/async`: keep a PROCESSING status and queue the work. */
export function startParse(
  ctx: Context,
  fileId: string,
  config: Schemas["ParseConfig"] | undefined,
): ParserRunStatus {
  const id = newId(PREFIX.parserRun);
  const status: ParserRunStatus = { object: "parser_run_status", id, status: "PROCESSING" };
  ctx.store.insert(
    "parser_run",
    id,
    status,
    { parentId: fileId, status: "PROCESSING" },
    { config: config ?? {}, fileId },
  );
  ctx.engine.enqueue("parser_run", id, 50);
  return status;
}

export async function parserRunJob(ctx: Context, id: string, signal: AbortSignal) {
  const stored = ctx.store.get<"parser_run", ParserRunInternal & { fileId: string }>(
    "parser_run",
    id,
  );
  if (stored?.data.status !== "PROCESSING") return;
  let run: ParserRun;
  try {
    run = await parse(ctx, id, stored.internal.fileId, stored.internal.config, signal);
  } catch (error) {
    if (isStopReason(error)) return;
    run = {
      object: "parser_run",
      id,
      fileId: stored.internal.fileId,
      chunks: [],
      status: "FAILED",
      failureReason: error instanceof ProcessingError ? error.code : "INTERNAL_ERROR",
      metrics: { processingTimeMs: 0, pageCount: 0 },
      config: effectiveParseConfig(stored.internal.config),
    };
  }
  if (!ctx.store.get("parser_run", id)) return;
  ctx.store.update("parser_run", id, run, { index: { status: run.status } });
  const payload: ParserRunStatus = {
    object: "parser_run_status",
    id,
    status: run.status,
    ...(run.failureReason ? { failureReason: run.failureReason } : {}),
  };
  ctx.emit(run.status === "PROCESSED" ? "parser_run.processed" : "parser_run.failed", payload);
}

export function getParserRun(ctx: Context, id: string) {
  const stored = ctx.store.get("parser_run", id);
  if (!stored) throw notFound("Parser run", id);
  return stored.data;
}

/** With `responseType=url`, the chunks move behind a 15-minute download link. */
export function withResponseType<T extends ParserRun | ParserRunStatus>(
  ctx: Context,
  run: T,
  responseType: string | undefined,
): T {
  if (responseType !== "url" || run.object !== "parser_run") return run;
  return {
    ...run,
    chunks: [],
    responseUrl: signedUrl(ctx, `/_emulator/parser_runs/${run.id}/chunks`, CHUNKS_URL_TTL_SECONDS),
  };
}
