import type { Schemas } from "@extendkit/core";
import { discardRun } from "../context.js";
import { notFound } from "../errors.js";
import { createTextFile, resolveFileInput } from "../files.js";
import {
  cancelProcessorRun,
  getProcessorRun,
  newProcessorRun,
  type ProcessorRunInternal,
  processorRunSummary,
  processorRunView,
} from "../processor-runs.js";
import {
  checkConfig,
  createProcessor,
  getProcessor,
  publishedVersions,
  publishVersion,
  resolveVersion,
  updateProcessor,
} from "../processors-repo.js";
import { page } from "./paging.js";
import type { Handlers } from "./types.js";

export const processorHandlers = {
  runProcessor: async ({ ctx, body }) => {
    const processor = getProcessor(ctx, body.processorId);
    const version = resolveVersion(ctx, body.processorId, body.version);
    checkConfig(processor.type, body.config);
    const file = body.file
      ? resolveFileInput(ctx, body.file)
      : await createTextFile(ctx, body.rawText as string, "raw_text.txt");
    const run = newProcessorRun(ctx, {
      processor,
      version,
      config: body.config ?? version.config,
      file,
      metadata: body.metadata,
      source: "API",
    });
    ctx.engine.enqueue("processor_run", run.id, body.priority ?? 50);
    if (body.sync) await ctx.engine.settled(run.id, ctx.options.syncTimeoutMs);
    return {
      success: true,
      processorRun: processorRunView(ctx, body.sync ? getProcessorRun(ctx, run.id).data : run),
    };
  },

  getProcessorRun: ({ ctx, params }) => ({
    success: true,
    processorRun: processorRunView(ctx, getProcessorRun(ctx, params.id as string).data),
  }),

  listProcessorRuns: ({ ctx, query }) => {
    const result = page<"processor_run", Schemas["ProcessorRunSummary"], ProcessorRunInternal>(
      ctx,
      "processor_run",
      {
        ...query,
        filters: {
          status: query.status,
          parentId: query.processorId,
          type: query.processorType,
          sourceId: query.sourceId,
          source: query.source,
        },
        nameContains: query.fileNameContains,
      },
      processorRunSummary,
    );
    return {
      success: true,
      processorRuns: result.items,
      ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
    };
  },

  cancelProcessorRun: ({ ctx, params }) => ({
    success: true,
    processorRun: processorRunView(ctx, cancelProcessorRun(ctx, params.id as string)),
  }),

  deleteProcessorRun: ({ ctx, params }) => {
    const id = params.id as string;
    getProcessorRun(ctx, id);
    discardRun(ctx, "processor_run", id);
    return {
      success: true,
      documentProcessorRunId: id,
      message: `Processor run ${id} was deleted.`,
    };
  },

  getBatchProcessorRun: ({ ctx, params }) => {
    const stored = ctx.store.get("batch_processor_run", params.id as string);
    if (!stored) throw notFound("Batch processor run", params.id as string);
    return { success: true, batchProcessorRun: stored.data };
  },

  listProcessors: ({ ctx, query }) => {
    const result = page(
      ctx,
      "processor",
      { ...query, filters: { type: query.type } },
      (stored) => ({
        object: "document_processor" as const,
        id: stored.data.id,
        name: stored.data.name,
        type: stored.data.type,
        versions: [...publishedVersions(ctx, stored.id).reverse(), stored.data.draftVersion].map(
          (v) => ({ id: v.id, version: v.version }),
        ),
        createdAt: stored.data.createdAt,
        updatedAt: stored.data.updatedAt,
      }),
    );
    return { success: true, processors: result.items, nextPageToken: result.nextPageToken ?? null };
  },

  createProcessor: ({ ctx, body }) => {
    const config =
      body.config ?? getProcessor(ctx, body.cloneProcessorId as string).draftVersion.config;
    return {
      success: true,
      processor: createProcessor(ctx, { name: body.name, type: body.type, config }),
    };
  },

  updateProcessor: ({ ctx, params, body }) => ({
    success: true,
    processor: updateProcessor(ctx, params.id as string, body),
  }),

  publishProcessorVersion: ({ ctx, params, body }) => ({
    success: true,
    processorVersion: publishVersion(ctx, params.id as string, body),
  }),

  getProcessorVersion: ({ ctx, params }) => {
    const processor = getProcessor(ctx, params.processorId as string);
    const version = ctx.store.get("processor_version", params.processorVersionId as string)?.data;
    if (!version || version.processorId !== processor.id)
      throw notFound(`Version of processor ${processor.id}`, params.processorVersionId as string);
    return {
      success: true,
      version: version.version === "draft" ? processor.draftVersion : version,
    };
  },

  listProcessorVersions: ({ ctx, params }) => {
    const processor = getProcessor(ctx, params.id as string);
    return {
      success: true,
      versions: [...publishedVersions(ctx, processor.id).reverse(), processor.draftVersion],
    };
  },
} satisfies Partial<Handlers>;
