import type { Schemas } from "@extendkit/core";
import { type Context, discardRun } from "../context.js";
import { ApiError, badRequest } from "../errors.js";
import { createTextFile, getFile, resolveFileInput } from "../files.js";
import { newId, PREFIX } from "../ids.js";
import { resolveVersion } from "../processors-repo.js";
import { completeOutput } from "../provided-outputs.js";
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
  runWorkflow: async ({ ctx, body }) => {
    const count = (body.files?.length ?? 0) + (body.rawTexts?.length ?? 0);
    if (count > MAX_INPUTS_PER_RUN) {
      throw badRequest(
        `Invalid request: body.files and body.rawTexts hold ${count} inputs together; at most ${MAX_INPUTS_PER_RUN} are allowed per request. Use POST /workflow_runs/batch for more.`,
      );
    }
    const { workflow, definition } = resolveWorkflowVersion(ctx, body.workflowId, body.version);
    // Everything a request names is checked before anything is stored, so a 404 or 400
    // leaves no file behind.
    checkFileIds(
      ctx,
      (body.files ?? []).map((f) => f.fileId),
    );
    const overrides = (body.files ?? []).map((f, i) =>
      completeOverrides(ctx, f.outputs, `body.files[${i}].outputs`),
    );
    const inputs: RunInput[] = [
      ...(body.files ?? []).map((f, i) => ({
        file: resolveFileInput(ctx, f),
        metadata: body.metadata,
        overrides: overrides[i],
      })),
      ...(await Promise.all(
        (body.rawTexts ?? []).map(async (text, i) => ({
          file: await createTextFile(ctx, text, `raw_text_${i + 1}.txt`),
          metadata: body.metadata,
        })),
      )),
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
      discardRun(ctx, "workflow_run", id);
      for (const output of ctx.store.all("processor_run", { sourceId: id }))
        ctx.store.delete("processor_run", output.id);
    });
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

  batchRunWorkflow: async ({ ctx, body }) => {
    const { workflow, definition } = resolveWorkflowVersion(ctx, body.workflowId, body.version);
    checkFileIds(
      ctx,
      body.inputs.map((input) => input.file?.fileId),
    );
    const batchId = newId(PREFIX.batch);
    const inputs: RunInput[] = await Promise.all(
      body.inputs.map(async (input, i) => ({
        file: input.file
          ? resolveFileInput(ctx, input.file)
          : await createTextFile(ctx, input.rawText as string, `raw_text_${i + 1}.txt`),
        metadata: input.metadata,
        secrets: input.secrets,
      })),
    );
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
    const reviewed = completeOutput(
      body.reviewedOutput,
      output.config,
      output.output,
      "body.reviewedOutput",
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

function checkFileIds(ctx: Context, ids: Array<string | undefined>) {
  for (const id of ids) if (id) getFile(ctx, id);
}

/** Output overrides name an existing processor and fit its type; stored complete. */
/** Output overrides name an existing processor and fit its config; stored complete. */
function completeOverrides(
  ctx: Context,
  overrides: Schemas["ProvidedOutputOverride"][] | undefined,
  where: string,
) {
  return overrides?.map((o, i) => ({
    processorId: o.processorId,
    output: completeOutput(
      o.output,
      resolveVersion(ctx, o.processorId).config,
      undefined,
      `${where}[${i}].output`,
    ),
  }));
}
