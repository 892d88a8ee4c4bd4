import type { Schemas } from "@extendkit/core";
import { type Context, nowIso } from "../context.js";
import { notFound } from "../errors.js";
import { getFile } from "../files.js";
import { newId, PREFIX } from "../ids.js";
import { getProcessor, resolveVersion } from "../processors-repo.js";
import { checkProvidedOutput } from "../provided-outputs.js";
import { page } from "./paging.js";
import type { Handlers } from "./types.js";

function getSet(ctx: Context, id: string) {
  const stored = ctx.store.get("evaluation_set", id);
  if (!stored) throw notFound("Evaluation set", id);
  return stored.data;
}

/** Expected outputs must fit the set's processor (its latest version's config). */
function checkExpected(
  ctx: Context,
  setId: string,
  expected: Schemas["ProvidedProcessorOutput"],
  where: string,
) {
  const set = getSet(ctx, setId);
  checkProvidedOutput(expected, resolveVersion(ctx, set.processorId).config, where);
}

function addItem(
  ctx: Context,
  evaluationSetId: string,
  fileId: string,
  expectedOutput: Schemas["ProvidedProcessorOutput"],
) {
  getFile(ctx, fileId);
  const item: Schemas["EvaluationSetItem"] = {
    object: "evaluation_set_item",
    id: newId(PREFIX.evaluationSetItem),
    evaluationSetId,
    fileId,
    expectedOutput,
  };
  ctx.store.insert("evaluation_set_item", item.id, item, { parentId: evaluationSetId });
  return item;
}

export const evaluationHandlers = {
  getEvaluationSet: ({ ctx, params }) => ({
    success: true,
    evaluationSet: getSet(ctx, params.id as string),
  }),

  listEvaluationSets: ({ ctx, query }) => {
    const result = page(
      ctx,
      "evaluation_set",
      { ...query, filters: { parentId: query.processorId } },
      (s) => s.data,
    );
    return {
      success: true,
      evaluationSets: result.items,
      ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
    };
  },

  createEvaluationSet: ({ ctx, body }) => {
    getProcessor(ctx, body.processorId);
    const now = nowIso();
    const set: Schemas["EvaluationSet"] = {
      object: "evaluation_set",
      id: newId(PREFIX.evaluationSet),
      name: body.name,
      description: body.description,
      processorId: body.processorId,
      createdAt: now,
      updatedAt: now,
    };
    ctx.store.insert(
      "evaluation_set",
      set.id,
      set,
      { parentId: body.processorId, name: body.name },
      {},
      now,
    );
    return { success: true, evaluationSet: set };
  },

  listEvaluationSetItems: ({ ctx, params, query }) => {
    getSet(ctx, params.id as string);
    const result = page(
      ctx,
      "evaluation_set_item",
      { ...query, filters: { parentId: params.id } },
      (s) => s.data,
    );
    return {
      success: true,
      evaluationSetItems: result.items,
      ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
    };
  },

  createEvaluationSetItem: ({ ctx, body }) => {
    checkExpected(ctx, body.evaluationSetId, body.expectedOutput, "body.expectedOutput");
    return {
      success: true,
      evaluationSetItem: addItem(ctx, body.evaluationSetId, body.fileId, body.expectedOutput),
    };
  },

  updateEvaluationSetItem: ({ ctx, params, body }) => {
    const stored = ctx.store.get("evaluation_set_item", params.id as string);
    if (!stored) throw notFound("Evaluation set item", params.id as string);
    checkExpected(ctx, stored.data.evaluationSetId, body.expectedOutput, "body.expectedOutput");
    const item = { ...stored.data, expectedOutput: body.expectedOutput };
    ctx.store.update("evaluation_set_item", item.id, item);
    return { success: true, evaluationSetItem: item };
  },

  deleteEvaluationSetItem: ({ ctx, params }) => {
    const id = params.id as string;
    if (!ctx.store.delete("evaluation_set_item", id)) throw notFound("Evaluation set item", id);
    return {
      success: true,
      evaluationSetItemId: id,
      message: `Evaluation set item ${id} was deleted.`,
    };
  },

  bulkCreateEvaluationSetItems: ({ ctx, body }) => {
    getSet(ctx, body.evaluationSetId);
    // Check every item first, so a bad one adds none of them.
    body.items.forEach((item, i) => {
      getFile(ctx, item.fileId);
      checkExpected(
        ctx,
        body.evaluationSetId,
        item.expectedOutput,
        `body.items[${i}].expectedOutput`,
      );
    });
    const items = ctx.store.transaction(() =>
      body.items.map((item) =>
        addItem(ctx, body.evaluationSetId, item.fileId, item.expectedOutput),
      ),
    );
    return { success: true, evaluationSetItems: items };
  },
} satisfies Partial<Handlers>;
