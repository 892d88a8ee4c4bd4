import type { Schemas } from "@extendkit/core";
import { ApiError, badRequest } from "../errors.js";
import { createTextFile, resolveFileInput } from "../files.js";
import { newId, PREFIX } from "../ids.js";
import {
  cancelWorkflowRun,
  cleanMetadata,
  createWorkflowRuns,
  getWorkflowRun,
  patchWorkflowRun,
  type RunInput,
  type WorkflowRunInternal,
  workflowRunSummary,
  workflowRunView,
} from "../workflow-runs.js";
import { createWorkflow, getWorkflow, resolveWorkflowVersion } from "../workflows-repo.js";
import { page } from "./paging.js";
import type { Handlers } from "./types.js";

const MAX_INPUTS_PER_RUN = 50;
const BATCH_PRIORITY = 90;

export const workflowHandlers = {
  runWorkflow: ({ ctx, body }) => {
    const count = (body.files?.length ?? 0) + (body.rawTexts?.length ?? 0);
    if (count > MAX_INPUTS_PER_RUN) {
      throw badRequest(
        `Invalid request: body.files and body.rawTexts hold ${count} inputs together; at most ${MAX_INPUTS_PER_RUN} are allowed per request. Use POST /workflow_runs/batch for more.`,
      );
    }
    const { workflow, definition } = resolveWorkflowVersion(ctx, body.workflowId, body.version);
    const inputs: RunInput[] = [
      ...(body.files ?? []).map((f) => ({
        file: resolveFileInput(ctx, f),
        metadata: body.metadata,
        overrides: f.outputs,
      })),
      ...(body.rawTexts ?? []).map((text, i) => ({
        file: createTextFile(ctx, text, `raw_text_${i + 1}.txt`),
        metadata: body.metadata,
      })),
    ];
    const runs = createWorkflowRuns(ctx, {
      workflow,
      definition,
      priority: body.priority ?? 50,
      inputs,
    });
    return { success: true, workflowRuns: runs.map((r) => workflowRunView(ctx, r)) };
  },

  getWorkflowRun: ({ ctx, params }) => ({
    success: true,
    workflowRun: workflowRunView(ctx, getWorkflowRun(ctx, params.workflowRunId as string).data),
  }),

  listWorkflowRuns: ({ ctx, query }) => {
    if (query.workflowId) getWorkflow(ctx, query.workflowId);
    const result = page<"workflow_run", Schemas["WorkflowRunSummary"], WorkflowRunInternal>(
      ctx,
      "workflow_run",
      {
        ...query,
        filters: { parentId: query.workflowId, batchId: query.batchId, status: query.status },
        nameContains: query.fileNameContains,
      },
      workflowRunSummary,
    );
    return {
      success: true,
      workflowRuns: result.items,
      ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
    };
  },

  updateWorkflowRun: ({ ctx, params, body }) => {
    const id = params.workflowRunId as string;
    getWorkflowRun(ctx, id);
    const run = patchWorkflowRun(ctx, id, (r) => ({
      ...r,
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.metadata ? { metadata: { ...r.metadata, ...cleanMetadata(body.metadata) } } : {}),
    }));
    return { success: true, workflowRun: workflowRunView(ctx, run as Schemas["WorkflowRun"]) };
  },

  cancelWorkflowRun: ({ ctx, params }) => ({
    success: true,
    workflowRun: workflowRunView(ctx, cancelWorkflowRun(ctx, params.workflowRunId as string)),
  }),

  deleteWorkflowRun: ({ ctx, params }) => {
    const id = params.workflowRunId as string;
    getWorkflowRun(ctx, id);
    ctx.store.transaction(() => {
      ctx.store.delete("workflow_run", id);
      ctx.store.finishJob(id);
      for (const output of ctx.store.all("processor_run", { sourceId: id }))
        ctx.store.delete("processor_run", output.id);
    });
    ctx.engine.abort(id, "delete");
    return {
      success: true,
      workflowRunId: id,
      message: `Workflow run ${id} and its data were deleted.`,
    };
  },

  createWorkflow: ({ ctx, body }) => ({
    success: true,
    workflow: createWorkflow(ctx, { name: body.name }).workflow,
  }),

  batchRunWorkflow: ({ ctx, body }) => {
    const { workflow, definition } = resolveWorkflowVersion(ctx, body.workflowId, body.version);
    const batchId = newId(PREFIX.batch);
    const inputs: RunInput[] = body.inputs.map((input, i) => ({
      file: input.file
        ? resolveFileInput(ctx, input.file)
        : createTextFile(ctx, input.rawText as string, `raw_text_${i + 1}.txt`),
      metadata: input.metadata,
      secrets: input.secrets,
    }));
    createWorkflowRuns(ctx, { workflow, definition, priority: BATCH_PRIORITY, inputs, batchId });
    return { success: true, batchId };
  },

  correctWorkflowRunOutputs: ({ ctx, params, body }) => {
    const id = params.workflowRunId as string;
    const run = getWorkflowRun(ctx, id).data;
    const output = run.outputs.find((o) => o.id === params.outputId);
    if (!output)
      throw new ApiError(
        404,
        "NOT_FOUND",
        `Workflow run ${id} has no output ${JSON.stringify(params.outputId)}; use an id from workflowRun.outputs[].id.`,
      );
    const reviewed = mergeReviewed(
      output.output ?? undefined,
      body.reviewedOutput as Schemas["ProcessorOutput"],
    );
    const corrected = {
      ...output,
      reviewedOutput: reviewed,
      output: reviewed,
      reviewed: true,
      edited: true,
    };
    const next = patchWorkflowRun(ctx, id, (r) => ({
      ...r,
      outputs: r.outputs.map((o) => (o.id === output.id ? corrected : o)),
    }));
    ctx.store.update("processor_run", output.id, corrected);
    return { success: true, workflowRun: workflowRunView(ctx, next as Schemas["WorkflowRun"]) };
  },
} satisfies Partial<Handlers>;

/** Extraction corrections may name only some fields: they are merged into the current values. */
function mergeReviewed(
  current: Schemas["ProcessorOutput"] | undefined,
  provided: Schemas["ProcessorOutput"],
): Schemas["ProcessorOutput"] {
  const json = (o: Schemas["ProcessorOutput"] | undefined) =>
    o && "value" in o && "metadata" in o && typeof o.value === "object"
      ? (o as Schemas["JsonOutput"])
      : undefined;
  const before = json(current);
  if (
    before &&
    "value" in provided &&
    typeof provided.value === "object" &&
    provided.value !== null
  ) {
    const merged: Schemas["JsonOutput"] = {
      value: { ...before.value, ...(provided.value as Record<string, unknown>) },
      metadata: before.metadata,
    };
    return merged;
  }
  // A classification correction names the class ({ id, type }, confidence optional); the
  // stored output stays a complete ClassifierOutput.
  if (
    current &&
    "confidence" in current &&
    "id" in provided &&
    "type" in provided &&
    typeof provided.id === "string"
  ) {
    return {
      id: provided.id,
      type: provided.type as string,
      confidence: typeof provided.confidence === "number" ? provided.confidence : 1,
      insights: [],
    };
  }
  return provided;
}
