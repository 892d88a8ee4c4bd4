import type { Schemas } from "@extendkit/core";
import { type Context, nowIso } from "./context.js";
import { checkpoint, isStopReason } from "./engine.js";
import { badRequest, notFound } from "./errors.js";
import { fileLayout, fileView } from "./files.js";
import { newId, PREFIX } from "./ids.js";
import { simulateWork } from "./processing.js";
import {
  executeProcessorRun,
  newProcessorRun,
  processorRunView,
  saveProcessorRun,
} from "./processor-runs.js";
import { ProcessingError } from "./processors/errors.js";
import { getProcessor, resolveVersion } from "./processors-repo.js";
import type {
  RuleDefinition,
  StepDefinition,
  WorkflowVersionDefinition,
} from "./workflows-repo.js";

type WorkflowRun = Schemas["WorkflowRun"];

export interface WorkflowRunInternal {
  priority: number;
  workflowVersionId: string;
  steps: StepDefinition[];
  overrides?: Schemas["ProvidedOutputOverride"][];
  secrets?: Record<string, unknown>;
}

/** One input of a run request, already resolved to a stored file. */
export interface RunInput {
  file: Schemas["File"];
  metadata?: Schemas["RunMetadata"];
  overrides?: Schemas["ProvidedOutputOverride"][];
  secrets?: Record<string, unknown>;
}

/** Usage tags keep only letters, digits, `-` and `_`. */
export function cleanMetadata(
  metadata: Schemas["RunMetadata"] | undefined,
): Schemas["RunMetadata"] {
  if (!metadata) return {};
  const tags = metadata["extend:usage_tags"];
  if (!Array.isArray(tags)) return { ...metadata };
  return {
    ...metadata,
    "extend:usage_tags": tags.map((tag) => String(tag).replace(/[^A-Za-z0-9_-]/g, "")),
  };
}

/** Creates one PENDING run per input and queues them, all in one transaction. */
export function createWorkflowRuns(
  ctx: Context,
  input: {
    workflow: Schemas["Workflow"];
    definition: WorkflowVersionDefinition;
    priority: number;
    inputs: RunInput[];
    batchId?: string;
  },
): WorkflowRun[] {
  const now = nowIso();
  const runs: WorkflowRun[] = [];
  ctx.store.transaction(() => {
    for (const item of input.inputs) {
      const id = newId(PREFIX.workflowRun);
      const run: WorkflowRun = {
        object: "workflow_run",
        id,
        name: item.file.name,
        url: `https://dashboard.extend.ai/workflows/${input.workflow.id}?workflowRunId=${id}`,
        status: "PENDING",
        metadata: cleanMetadata(item.metadata),
        ...(input.batchId ? { batchId: input.batchId } : {}),
        files: [item.file],
        initialRunAt: now,
        reviewed: false,
        outputs: [],
        stepRuns: [],
        workflow: {
          object: "workflow",
          id: input.workflow.id,
          version: input.definition.version,
          name: input.workflow.name,
        },
      };
      const internal: WorkflowRunInternal = {
        priority: input.priority,
        workflowVersionId: input.definition.id,
        steps: input.definition.steps,
        ...(item.overrides?.length ? { overrides: item.overrides } : {}),
        ...(item.secrets ? { secrets: item.secrets } : {}),
      };
      ctx.store.insert(
        "workflow_run",
        id,
        run,
        {
          parentId: input.workflow.id,
          batchId: input.batchId ?? null,
          status: "PENDING",
          name: item.file.name,
        },
        internal,
        now,
      );
      ctx.engine.enqueue("workflow_run", id, input.priority);
      runs.push(run);
    }
  });
  return runs;
}

export function getWorkflowRun(ctx: Context, id: string) {
  const stored = ctx.store.get<"workflow_run", WorkflowRunInternal>("workflow_run", id);
  if (!stored) throw notFound("Workflow run", id);
  return stored;
}

/** The API view: files (in the run and its outputs) with fresh presigned URLs. */
export function workflowRunView(ctx: Context, run: WorkflowRun): WorkflowRun {
  return {
    ...run,
    files: run.files.map((f) => fileView(ctx, f)),
    outputs: run.outputs.map((o) => processorRunView(ctx, o)),
  };
}

export function workflowRunSummary(stored: {
  data: WorkflowRun;
  internal: WorkflowRunInternal;
  createdAt: string;
  updatedAt: string;
}): Schemas["WorkflowRunSummary"] {
  const run = stored.data;
  return {
    id: run.id,
    status: run.status,
    initialRunAt: run.initialRunAt,
    ...(run.reviewedBy ? { reviewedByUser: run.reviewedBy } : {}),
    ...(run.reviewedAt ? { reviewedAt: run.reviewedAt } : {}),
    ...(run.startTime ? { startTime: run.startTime } : {}),
    ...(run.endTime ? { endTime: run.endTime } : {}),
    workflowId: run.workflow.id,
    workflowName: run.workflow.name,
    workflowVersionId: stored.internal.workflowVersionId,
    ...(run.batchId ? { batchId: run.batchId } : {}),
    ...(run.rejectionNote ? { rejectionNote: run.rejectionNote } : {}),
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}

/**
 * Re-reads a run, applies `change` and saves it. Callers (the worker, update, cancel)
 * each own different fields, so every write starts from the latest state.
 */
export function patchWorkflowRun(
  ctx: Context,
  id: string,
  change: (run: WorkflowRun) => WorkflowRun,
): WorkflowRun | undefined {
  const stored = ctx.store.get("workflow_run", id);
  if (!stored) return undefined;
  const next = change(stored.data);
  ctx.store.update("workflow_run", id, next, { index: { status: next.status } });
  return next;
}

const TERMINAL = new Set(["PROCESSED", "FAILED", "NEEDS_REVIEW", "REJECTED", "CANCELLED"]);

/** Executes a workflow run's steps in order; the engine's job for `workflow_run`. */
export async function workflowRunJob(ctx: Context, id: string, signal: AbortSignal) {
  const stored = ctx.store.get<"workflow_run", WorkflowRunInternal>("workflow_run", id);
  if (!stored || TERMINAL.has(stored.data.status)) return;
  if (stored.data.status === "CANCELLING") {
    patchWorkflowRun(ctx, id, (run) => ({ ...run, status: "CANCELLED", endTime: nowIso() }));
    return;
  }
  // A run resumed after a restart starts its steps again from a clean slate.
  if (stored.data.startTime) {
    for (const old of ctx.store.all("processor_run", { sourceId: id }))
      ctx.store.delete("processor_run", old.id);
  }
  const started = patchWorkflowRun(ctx, id, (run) => ({
    ...run,
    status: "PROCESSING",
    startTime: run.startTime ?? nowIso(),
    outputs: [],
    stepRuns: [],
  }));
  const file = started?.files[0];
  if (!started || !file) return;

  try {
    let extracted: Record<string, unknown> | undefined;
    for (const step of stored.internal.steps) {
      checkpoint(signal);
      if (step.type === "PARSE") {
        const layout = await fileLayout(ctx, file.id);
        await simulateWork(ctx, layout.pages.length, signal);
      } else if (step.type === "CLASSIFY" || step.type === "EXTRACT" || step.type === "SPLITTER") {
        const output = await runProcessorStep(
          ctx,
          id,
          step,
          file,
          stored.internal.overrides,
          signal,
        );
        if (output.status === "FAILED")
          throw new ProcessingError(
            "INTERNAL_ERROR",
            `Step "${step.name}" failed: ${output.failureMessage ?? output.failureReason}`,
          );
        if (step.type === "EXTRACT" && output.output) extracted = extractedValues(output.output);
        patchWorkflowRun(ctx, id, (run) => ({ ...run, outputs: [...run.outputs, output] }));
      } else if (step.type === "RULE_VALIDATION" || step.type === "EXTERNAL_DATA_VALIDATION") {
        const stepRun = await runValidationStep(ctx, id, step, extracted);
        const run = patchWorkflowRun(ctx, id, (r) => ({
          ...r,
          stepRuns: [...r.stepRuns, stepRun],
        }));
        if (run)
          ctx.emit("workflow_run.step_run.processed", stepRun, { workflowId: run.workflow.id });
      } else if (step.type === "HUMAN_REVIEW") {
        const run = patchWorkflowRun(ctx, id, (r) => ({ ...r, status: "NEEDS_REVIEW" }));
        if (run)
          ctx.emit("workflow_run.needs_review", workflowRunView(ctx, run), {
            workflowId: run.workflow.id,
          });
        return;
      }
    }
    checkpoint(signal);
    // A cancel that arrived after the last checkpoint still wins: the caller was told CANCELLING.
    const done = patchWorkflowRun(ctx, id, (run) => ({
      ...run,
      status: run.status === "CANCELLING" ? "CANCELLED" : "PROCESSED",
      endTime: nowIso(),
    }));
    if (done?.status === "PROCESSED")
      ctx.emit("workflow_run.completed", workflowRunView(ctx, done), {
        workflowId: done.workflow.id,
      });
  } catch (error) {
    if (isStopReason(error)) {
      if (error === "cancel")
        patchWorkflowRun(ctx, id, (run) => ({ ...run, status: "CANCELLED", endTime: nowIso() }));
      return;
    }
    const failed = patchWorkflowRun(ctx, id, (run) => ({
      ...run,
      status: "FAILED",
      endTime: nowIso(),
      failureReason: error instanceof ProcessingError ? error.code : "INTERNAL_ERROR",
      failureMessage: (error as Error).message,
    }));
    if (failed)
      ctx.emit("workflow_run.failed", workflowRunView(ctx, failed), {
        workflowId: failed.workflow.id,
      });
  }
}

async function runProcessorStep(
  ctx: Context,
  runId: string,
  step: StepDefinition,
  file: Schemas["File"],
  overrides: Schemas["ProvidedOutputOverride"][] | undefined,
  signal: AbortSignal,
): Promise<Schemas["ProcessorRun"]> {
  const processorId = step.processorId as string;
  const processor = getProcessor(ctx, processorId);
  const version = resolveVersion(ctx, processorId, step.processorVersion);
  const run = newProcessorRun(ctx, {
    processor,
    version,
    config: version.config,
    file,
    source: "WORKFLOW_RUN",
    sourceId: runId,
  });
  const provided = overrides?.find((o) => o.processorId === processorId);
  if (provided) {
    // Overrides were completed to the processor's output shape when the run was created.
    const output = provided.output as Schemas["ProcessorOutput"];
    const done = { ...run, status: "PROCESSED" as const, output, initialOutput: output };
    saveProcessorRun(ctx, done);
    return done;
  }
  return (await executeProcessorRun(ctx, run.id, signal)) ?? run;
}

/** The values of an extraction output, whatever its shape. */
function extractedValues(output: Schemas["ProcessorOutput"]): Record<string, unknown> | undefined {
  if ("value" in output && output.value && typeof output.value === "object")
    return output.value as Record<string, unknown>;
  const fields = output as Record<string, { value?: unknown }>;
  return Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, field?.value]));
}

function pick(values: Record<string, unknown> | undefined, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>(
      (at, key) =>
        at && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined,
      values,
    );
}

export function checkRule(
  rule: RuleDefinition,
  values: Record<string, unknown> | undefined,
): Schemas["RuleResult"] {
  const value = pick(values, rule.field);
  let valid: boolean;
  switch (rule.check) {
    case "present":
      valid =
        value !== null &&
        value !== undefined &&
        value !== "" &&
        !(Array.isArray(value) && value.length === 0);
      break;
    case "positive":
      valid = typeof value === "number" && value > 0;
      break;
    case "equals":
      valid = JSON.stringify(value) === JSON.stringify(rule.value);
      break;
    case "matches":
      valid = typeof value === "string" && new RegExp(String(rule.value)).test(value);
      break;
  }
  return {
    name: rule.name,
    valid,
    ...(valid
      ? {}
      : {
          failureReason: "RULE_FAILED" as const,
          error: `${rule.field} is ${JSON.stringify(value ?? null)}; expected it to be ${rule.check}${rule.value === undefined ? "" : ` ${JSON.stringify(rule.value)}`}.`,
        }),
  };
}

async function runValidationStep(
  _ctx: Context,
  runId: string,
  step: StepDefinition,
  values: Record<string, unknown> | undefined,
): Promise<Schemas["StepRun"]> {
  const base = {
    object: "workflow_step_run" as const,
    id: newId(PREFIX.stepRun),
    step: {
      object: "workflow_step" as const,
      id: step.id,
      name: step.name,
      type: step.type as Schemas["WorkflowStepType"],
    },
  };
  if (step.type === "RULE_VALIDATION") {
    return {
      ...base,
      status: "PROCESSED",
      output: { rules: (step.rules ?? []).map((rule) => checkRule(rule, values)) },
    };
  }
  try {
    const response = await fetch(step.url as string, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workflowRunId: runId, values: values ?? null }),
      signal: AbortSignal.timeout(30_000),
    });
    const output = (await response.json()) as Record<string, unknown>;
    return { ...base, status: response.ok ? "PROCESSED" : "FAILED", output };
  } catch (error) {
    return { ...base, status: "FAILED", output: { error: (error as Error).message } };
  }
}

/**
 * `PENDING` runs are cancelled at once; `PROCESSING` runs answer `CANCELLING` and become
 * `CANCELLED` when their worker stops. Any other status is refused.
 */
export function cancelWorkflowRun(ctx: Context, id: string): WorkflowRun {
  const run = getWorkflowRun(ctx, id).data;
  if (run.status === "PENDING") {
    ctx.store.finishJob(id);
    return patchWorkflowRun(ctx, id, (r) => ({
      ...r,
      status: "CANCELLED",
      endTime: nowIso(),
    })) as WorkflowRun;
  }
  if (run.status === "PROCESSING") {
    const next = patchWorkflowRun(ctx, id, (r) => ({ ...r, status: "CANCELLING" })) as WorkflowRun;
    ctx.engine.abort(id);
    return next;
  }
  throw badRequest(
    `Workflow run ${id} is ${run.status}; only PENDING or PROCESSING runs can be cancelled.`,
  );
}

/** Finishes a run waiting in `NEEDS_REVIEW` (the dashboard's review, through the admin API). */
export function reviewWorkflowRun(
  ctx: Context,
  id: string,
  input: { approve: boolean; note?: string; reviewer?: string },
): WorkflowRun {
  const run = getWorkflowRun(ctx, id).data;
  if (run.status !== "NEEDS_REVIEW")
    throw badRequest(
      `Workflow run ${id} is ${run.status}; only runs in NEEDS_REVIEW can be reviewed.`,
    );
  const now = nowIso();
  const next = patchWorkflowRun(ctx, id, (r) => ({
    ...r,
    status: input.approve ? "PROCESSED" : "REJECTED",
    reviewed: true,
    reviewedAt: now,
    reviewedBy: input.reviewer ?? "reviewer@emulator.local",
    endTime: now,
    ...(input.note ? { rejectionNote: input.note } : {}),
  })) as WorkflowRun;
  ctx.emit(
    input.approve ? "workflow_run.completed" : "workflow_run.rejected",
    workflowRunView(ctx, next),
    { workflowId: next.workflow.id },
  );
  return next;
}
