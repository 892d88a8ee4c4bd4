import { createHmac, timingSafeEqual } from "node:crypto";
import type { Schemas } from "@extendkit/core";
import type { BlobStore } from "./blobs.js";
import type { ResolvedOptions } from "./options.js";
import type { OcrEngine } from "./processors/ocr.js";
import type { Store } from "./store.js";

/** Where an event comes from, for per-workflow and per-processor subscriptions. */
export interface EventScope {
  workflowId?: string;
  processorId?: string;
}

/** Everything a handler, the engine and the admin API share. */
export interface Context {
  options: ResolvedOptions;
  store: Store;
  blobs: BlobStore;
  /** The built-in OCR for images and scanned pages: one worker, started on first use. */
  ocr: OcrEngine;
  /** The emulator's own root URL, known once it listens. */
  baseUrl: string;
  /** Key that signs presigned URLs (kept in the database so URLs survive a restart). */
  urlKey: string;
  emit(type: Schemas["WebhookEventType"], payload: unknown, scope?: EventScope): void;
  engine: {
    /** Queues a run for the workers. */
    enqueue(kind: JobKind, id: string, priority: number): void;
    /** Stops a run in progress, if a worker has it (`cancel` by default). */
    abort(id: string, reason?: "cancel" | "delete"): void;
    /** Waits for the caller's turn to do a step of work (one step per event-loop turn). */
    turn(): Promise<void>;
    /** Resolves when the run's job is done (or `timeoutMs` passes). */
    settled(id: string, timeoutMs: number): Promise<void>;
  };
}

export type JobKind =
  | "workflow_run"
  | "processor_run"
  | "parser_run"
  | "edit_run"
  | "batch_processor_run";

export const nowIso = () => new Date().toISOString();

/** Deletes a run for good: its row, its queued job, and the work of a worker that has it. */
export function discardRun(
  ctx: Context,
  kind: "workflow_run" | "processor_run" | "parser_run" | "edit_run",
  id: string,
) {
  ctx.store.delete(kind, id);
  ctx.store.finishJob(id);
  ctx.engine.abort(id, "delete");
}

/** A URL under the emulator that works without a token until `ttlSeconds` have passed. */
export function signedUrl(ctx: Context, path: string, ttlSeconds: number): string {
  const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
  const signature = createHmac("sha256", ctx.urlKey).update(`${path}:${expires}`).digest("hex");
  return `${ctx.baseUrl}${path}?expires=${expires}&signature=${signature}`;
}

/** Whether a presigned URL's path, expiry and signature hold. */
export function verifySignedUrl(ctx: Context, path: string, query: URLSearchParams): boolean {
  const expires = Number(query.get("expires"));
  const signature = query.get("signature") ?? "";
  if (
    !Number.isInteger(expires) ||
    expires < Date.now() / 1000 ||
    !/^[0-9a-f]{64}$/.test(signature)
  )
    return false;
  const expected = createHmac("sha256", ctx.urlKey).update(`${path}:${expires}`).digest();
  return timingSafeEqual(expected, Buffer.from(signature, "hex"));
}
