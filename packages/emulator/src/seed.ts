import { readFileSync } from "node:fs";
import type { Schemas } from "@extendkit/core";
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
  processors?: Array<{
    id?: string;
    name: string;
    type: Schemas["ProcessorType"];
    config: Schemas["ProcessorConfig"];
    /** Publish version 1.0 of it. @default true */
    publish?: boolean;
  }>;
  workflows?: Array<{
    id?: string;
    name: string;
    steps: StepInput[];
    /** Deploy version 1 of it. @default true */
    deploy?: boolean;
  }>;
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
