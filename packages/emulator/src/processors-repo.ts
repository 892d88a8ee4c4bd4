import type { Schemas } from "@extendkit/core";
import { type Context, nowIso } from "./context.js";
import { ApiError, badRequest, notFound } from "./errors.js";
import { newId, PREFIX } from "./ids.js";
import { extractionSchemaProblem } from "./processors/schema-rules.js";

type Processor = Schemas["Processor"];
type ProcessorVersion = Schemas["ProcessorVersion"];
type ProcessorConfig = Schemas["ProcessorConfig"];

export function getProcessor(ctx: Context, id: string) {
  const stored = ctx.store.get("processor", id);
  if (!stored) throw notFound("Processor", id);
  return stored.data;
}

/** A config must match its processor's type; JSON Schema configs follow the service's rules. */
export function checkConfig(type: Schemas["ProcessorType"], config: ProcessorConfig | undefined) {
  if (!config) return;
  if (config.type !== type) {
    throw badRequest(
      `Invalid request: body.config.type is "${config.type}" but the processor's type is "${type}"; they must match.`,
    );
  }
  if (config.type === "EXTRACT" && config.schema) {
    const problem = extractionSchemaProblem(config.schema);
    if (problem) throw badRequest(`Invalid request: body.config.${problem}.`);
  }
}

/** Creates a processor with its draft version, and publishes `1.0` when asked (seeds). */
export function createProcessor(
  ctx: Context,
  input: { name: string; type: Schemas["ProcessorType"]; config: ProcessorConfig; id?: string },
): Processor {
  checkConfig(input.type, input.config);
  const id = input.id ?? newId(PREFIX.processor);
  if (ctx.store.get("processor", id))
    throw new ApiError(400, "INVALID_REQUEST", `A processor with id ${id} already exists.`);
  const now = nowIso();
  const draft: ProcessorVersion = {
    object: "document_processor_version",
    id: newId(PREFIX.processorVersion),
    processorId: id,
    processorName: input.name,
    processorType: input.type,
    version: "draft",
    config: input.config,
    createdAt: now,
    updatedAt: now,
  };
  const processor: Processor = {
    object: "document_processor",
    id,
    name: input.name,
    type: input.type,
    createdAt: now,
    updatedAt: now,
    draftVersion: draft,
  };
  ctx.store.transaction(() => {
    ctx.store.insert("processor", id, processor, { name: input.name, type: input.type }, {}, now);
    ctx.store.insert(
      "processor_version",
      draft.id,
      draft,
      { parentId: id, name: "draft" },
      {},
      now,
    );
  });
  ctx.emit("processor.created", processor, { processorId: id });
  return processor;
}

/** Renames a processor and/or replaces its draft config. */
export function updateProcessor(
  ctx: Context,
  id: string,
  changes: { name?: string; config?: ProcessorConfig },
): Processor {
  const processor = getProcessor(ctx, id);
  checkConfig(processor.type, changes.config);
  const now = nowIso();
  const draft: ProcessorVersion = {
    ...processor.draftVersion,
    processorName: changes.name ?? processor.name,
    ...(changes.config ? { config: changes.config } : {}),
    updatedAt: now,
  };
  const next: Processor = {
    ...processor,
    name: changes.name ?? processor.name,
    draftVersion: draft,
    updatedAt: now,
  };
  ctx.store.transaction(() => {
    ctx.store.update("processor", id, next, { index: { name: next.name }, now });
    ctx.store.update("processor_version", draft.id, draft, { now });
  });
  ctx.emit("processor.updated", next, { processorId: id });
  if (changes.config) ctx.emit("processor.draft.updated", next, { processorId: id });
  return next;
}

/** Published versions, oldest first. */
// Published versions never change once published, so each processor's list is read once
// and kept until the next publish (every step of every run resolves a version).
const publishedCache = new WeakMap<object, Map<string, ProcessorVersion[]>>();

export function publishedVersions(ctx: Context, processorId: string): ProcessorVersion[] {
  let byProcessor = publishedCache.get(ctx.store);
  if (!byProcessor) {
    byProcessor = new Map();
    publishedCache.set(ctx.store, byProcessor);
  }
  let versions = byProcessor.get(processorId);
  if (!versions) {
    versions = ctx.store
      .all("processor_version", { parentId: processorId })
      .map((v) => v.data)
      .filter((v) => v.version !== "draft");
    byProcessor.set(processorId, versions);
  }
  return [...versions];
}

/** `1.0` first; then `major` moves to the next whole number and `minor` adds one to the minor part. */
export function nextVersionNumber(
  previous: string | undefined,
  releaseType: "major" | "minor",
): string {
  if (!previous) return "1.0";
  const [major = 1, minor = 0] = previous.split(".").map(Number);
  return releaseType === "major" ? `${major + 1}.0` : `${major}.${minor + 1}`;
}

export function publishVersion(
  ctx: Context,
  processorId: string,
  input: { releaseType: "major" | "minor"; description?: string; config?: ProcessorConfig },
): ProcessorVersion {
  const processor = getProcessor(ctx, processorId);
  checkConfig(processor.type, input.config);
  const previous = publishedVersions(ctx, processorId).at(-1)?.version;
  const now = nowIso();
  const version: ProcessorVersion = {
    object: "document_processor_version",
    id: newId(PREFIX.processorVersion),
    processorId,
    processorName: processor.name,
    processorType: processor.type,
    ...(input.description ? { description: input.description } : {}),
    version: nextVersionNumber(previous, input.releaseType),
    config: input.config ?? processor.draftVersion.config,
    createdAt: now,
    updatedAt: now,
  };
  publishedCache.get(ctx.store)?.delete(processorId);
  ctx.store.insert(
    "processor_version",
    version.id,
    version,
    { parentId: processorId, name: version.version },
    {},
    now,
  );
  ctx.store.update("processor", processorId, { ...processor, updatedAt: now }, { now });
  ctx.emit("processor.version.published", version, { processorId });
  return version;
}

/**
 * The version a run uses: `"latest"` (or nothing) is the newest published version, else
 * the draft; `"draft"`; or a published number. Unknown versions answer 404.
 */
export function resolveVersion(
  ctx: Context,
  processorId: string,
  version = "latest",
): ProcessorVersion {
  const processor = getProcessor(ctx, processorId);
  if (version === "draft") return processor.draftVersion;
  const published = publishedVersions(ctx, processorId);
  if (version === "latest") return published.at(-1) ?? processor.draftVersion;
  const found = published.find((v) => v.version === version || v.id === version);
  if (!found) throw notFound(`Version of processor ${processorId}`, version);
  return found;
}
