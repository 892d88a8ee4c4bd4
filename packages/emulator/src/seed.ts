import { readFileSync } from "node:fs";
import type { Schemas } from "@extendkit/core";
import {
  checkProcessorInput,
  checkWebhookEndpointInput,
  checkWorkflowInput,
} from "./admin-schemas.js";
import type { Context } from "./context.js";
import { createProcessor, publishVersion } from "./processors-repo.js";
import { DEFAULT_SEED } from "./seeds/default.js";
import type { WebhookEndpointInput, Webhooks } from "./webhooks.js";
import { createWorkflow, type StepInput } from "./workflows-repo.js";

/**
 * What to load into a fresh emulator. Not part of the Extend API: workflow steps and
 * webhook endpoints are set in Extend's dashboard, so the emulator takes them from here.
 */
export interface SeedDocument {
  /** Processors to create, before the workflows that use them. */
  processors?: Array<{
    /** The processor's id (`dp_...`); generated when absent. */
    id?: string;
    /** The processor's name. */
    name: string;
    /** The processor's kind: `EXTRACT`, `CLASSIFY` or `SPLITTER`. */
    type: Schemas["ProcessorType"];
    /** The processor's configuration, as the API takes it. */
    config: Schemas["ProcessorConfig"];
    /** Publish version 1.0 of it. @default true */
    publish?: boolean;
  }>;
  /** Workflows to create, with their steps. */
  workflows?: Array<{
    /** The workflow's id (`workflow_...`); generated when absent. */
    id?: string;
    /** The workflow's name. */
    name: string;
    /** The workflow's steps, run in order. */
    steps: StepInput[];
    /** Deploy version 1 of it. @default true */
    deploy?: boolean;
  }>;
  /** Webhook endpoints to deliver events to. */
  webhookEndpoints?: WebhookEndpointInput[];
}

export function loadSeed(seed: string | SeedDocument): SeedDocument | undefined {
  if (typeof seed !== "string") return seed;
  if (seed === "none") return undefined;
  if (seed === "default") return DEFAULT_SEED;
  try {
    return JSON.parse(readFileSync(seed, "utf8")) as SeedDocument;
  } catch (error) {
    throw new Error(`Cannot read the seed file ${seed}: ${(error as Error).message}`);
  }
}

/** Loads a seed into a database that has never been seeded (a restart does not re-seed). */
export function applySeed(ctx: Context, webhooks: Webhooks, seed: SeedDocument | undefined) {
  if (!seed || ctx.store.getSetting<boolean>("seeded")) return;
  ctx.store.transaction(() => {
    const check = <T>(list: T[] | undefined, name: string, checker: (v: T, w: string) => void) => {
      for (const [i, item] of (list ?? []).entries()) checker(item, `seed.${name}[${i}]`);
    };
    check(seed.processors, "processors", checkProcessorInput);
    check(seed.workflows, "workflows", checkWorkflowInput);
    check(seed.webhookEndpoints, "webhookEndpoints", checkWebhookEndpointInput);
    for (const p of seed.processors ?? []) {
      const processor = createProcessor(ctx, p);
      if (p.publish !== false)
        publishVersion(ctx, processor.id, { releaseType: "major", description: "Seeded" });
    }
    for (const w of seed.workflows ?? []) createWorkflow(ctx, { ...w, deploy: w.deploy !== false });
    for (const e of seed.webhookEndpoints ?? []) webhooks.createEndpoint(e);
    ctx.store.setSetting("seeded", true);
  });
}
