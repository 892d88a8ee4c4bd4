import type { Schemas } from "@extendkit/core";
import type { Context } from "./context.js";
import { badRequest, notFound } from "./errors.js";
import { newId, PREFIX } from "./ids.js";

/** A rule of a RULE_VALIDATION step, checked against the run's extracted values. */
export interface RuleDefinition {
  /** The rule's name, as the step's output reports it. */
  name: string;
  /** Dot path into the extraction output's `value`, e.g. `total.amount`. */
  field: string;
  /** `present`: not null or empty; `positive`: a number above 0; `equals`/`matches`: against `value`. */
  check: "present" | "positive" | "equals" | "matches";
  /** What `equals` compares with, or the regular expression `matches` tests. */
  value?: unknown;
}

/** A step of an emulated workflow. Steps are not part of the 2025-04-21 API (they are set in
 * the dashboard); the emulator takes them from its seed file or its admin API. */
export interface StepDefinition {
  /** The step's id. */
  id: string;
  /** The step's name. */
  name: string;
  /** What the step does. */
  type:
    | "PARSE"
    | "CLASSIFY"
    | "EXTRACT"
    | "SPLITTER"
    | "RULE_VALIDATION"
    | "EXTERNAL_DATA_VALIDATION"
    | "HUMAN_REVIEW";
  /** For CLASSIFY, EXTRACT and SPLITTER steps. */
  processorId?: string;
  /** Processor version the step runs. @default "latest" */
  processorVersion?: string;
  /** For RULE_VALIDATION steps. */
  rules?: RuleDefinition[];
  /** For EXTERNAL_DATA_VALIDATION steps: the URL the run's outputs are POSTed to. */
  url?: string;
  /** For PARSE steps. */
  parseConfig?: Schemas["ParseConfig"];
}

/** A workflow step to create, in a seed document or through the admin API: its id may be left out. */
export type StepInput = Omit<StepDefinition, "id"> & {
  /** The step's id; generated when absent. */
  id?: string;
};

export interface WorkflowVersionDefinition {
  id: string;
  version: string;
  steps: StepDefinition[];
}

export interface WorkflowInternal {
  draft: WorkflowVersionDefinition;
  /** Deployed versions, oldest first, numbered "1", "2", ... */
  versions: WorkflowVersionDefinition[];
}

const PROCESSOR_STEPS = new Set(["CLASSIFY", "EXTRACT", "SPLITTER"]);
const STEP_TYPE: Record<string, Schemas["ProcessorType"]> = {
  CLASSIFY: "CLASSIFY",
  EXTRACT: "EXTRACT",
  SPLITTER: "SPLITTER",
};

export function getWorkflow(ctx: Context, id: string) {
  const stored = ctx.store.get<"workflow", WorkflowInternal>("workflow", id);
  if (!stored) throw notFound("Workflow", id);
  return stored;
}

function checkSteps(ctx: Context, steps: StepInput[]): StepDefinition[] {
  return steps.map((step, i) => {
    if (PROCESSOR_STEPS.has(step.type)) {
      if (!step.processorId) throw badRequest(`steps[${i}] (${step.type}) needs a processorId.`);
      const processor = ctx.store.get("processor", step.processorId);
      if (!processor) throw notFound("Processor", step.processorId);
      if (processor.data.type !== STEP_TYPE[step.type]) {
        throw badRequest(
          `steps[${i}] is a ${step.type} step but processor ${step.processorId} is ${processor.data.type}.`,
        );
      }
    }
    if (step.type === "RULE_VALIDATION" && !step.rules?.length)
      throw badRequest(`steps[${i}] (RULE_VALIDATION) needs rules.`);
    if (step.type === "EXTERNAL_DATA_VALIDATION" && !step.url)
      throw badRequest(`steps[${i}] (EXTERNAL_DATA_VALIDATION) needs a url.`);
    return { ...step, id: step.id ?? newId(PREFIX.workflowStep), name: step.name || step.type };
  });
}

/** Creates a workflow; with steps and `deploy`, its version "1" is deployed at once. */
export function createWorkflow(
  ctx: Context,
  input: { name: string; id?: string; steps?: StepInput[]; deploy?: boolean },
) {
  const id = input.id ?? newId(PREFIX.workflow);
  if (ctx.store.get("workflow", id)) throw badRequest(`A workflow with id ${id} already exists.`);
  const steps = checkSteps(ctx, input.steps ?? []);
  const draft = { id: newId(PREFIX.workflowVersion), version: "draft", steps };
  const versions = input.deploy ? [{ id: newId(PREFIX.workflowVersion), version: "1", steps }] : [];
  const workflow: Schemas["Workflow"] = {
    object: "workflow",
    id,
    version: versions.length ? "1" : "draft",
    name: input.name,
  };
  const internal: WorkflowInternal = { draft, versions };
  ctx.store.insert("workflow", id, workflow, { name: input.name }, internal);
  ctx.emit("workflow.created", workflow, { workflowId: id });
  if (input.deploy) ctx.emit("workflow.deployed", workflow, { workflowId: id });
  return { workflow, internal };
}

/** Replaces the draft's steps and, with `deploy`, deploys them as the next version. */
export function setWorkflowSteps(
  ctx: Context,
  id: string,
  input: { steps: StepInput[]; deploy?: boolean },
) {
  const stored = getWorkflow(ctx, id);
  const steps = checkSteps(ctx, input.steps);
  const internal: WorkflowInternal = {
    draft: { ...stored.internal.draft, steps },
    versions: input.deploy
      ? [
          ...stored.internal.versions,
          {
            id: newId(PREFIX.workflowVersion),
            version: String(stored.internal.versions.length + 1),
            steps,
          },
        ]
      : stored.internal.versions,
  };
  const workflow = { ...stored.data, version: internal.versions.at(-1)?.version ?? "draft" };
  ctx.store.update("workflow", id, workflow, { internal });
  if (input.deploy) ctx.emit("workflow.deployed", workflow, { workflowId: id });
  return { workflow, internal };
}

export function deleteWorkflow(ctx: Context, id: string) {
  const stored = getWorkflow(ctx, id);
  ctx.store.delete("workflow", id);
  ctx.emit("workflow.deleted", stored.data, { workflowId: id });
}

/** The version a run uses: the latest deployed one by default, else the draft. */
export function resolveWorkflowVersion(ctx: Context, id: string, version?: string) {
  const stored = getWorkflow(ctx, id);
  const { draft, versions } = stored.internal;
  if (version === "draft") return { workflow: stored.data, definition: draft };
  if (version === undefined || version === "latest")
    return { workflow: stored.data, definition: versions.at(-1) ?? draft };
  const found = versions.find((v) => v.version === version);
  if (!found) throw notFound(`Version of workflow ${id}`, version);
  return { workflow: stored.data, definition: found };
}
