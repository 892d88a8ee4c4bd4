import { randomBytes } from "node:crypto";

/** Id prefixes of API 2025-04-21 (brief §1.5). */
export const PREFIX = {
  file: "file_",
  workflow: "workflow_",
  workflowRun: "workflow_run_",
  workflowVersion: "workflow_version_",
  workflowStep: "step_",
  stepRun: "workflow_step_run_",
  batch: "batch_",
  processor: "dp_",
  processorVersion: "dpv_",
  processorRun: "dpr_",
  batchProcessorRun: "bpr_",
  parserRun: "parser_run_",
  editRun: "edit_run_",
  editTemplate: "edt_",
  evaluationSet: "ev_",
  evaluationSetItem: "evi_",
  event: "event_",
  request: "req_",
  webhookEndpoint: "whe_",
  webhookSecret: "wss_",
} as const;

// Random bytes are drawn in blocks: one system call serves hundreds of ids.
const BLOCK = 15 * 256;
let pool = randomBytes(BLOCK);
let offset = 0;

/** A new id: the prefix and 20 random url-safe characters, like the service's. */
export function newId(prefix: string): string {
  if (offset + 15 > BLOCK) {
    pool = randomBytes(BLOCK);
    offset = 0;
  }
  const id = pool.toString("base64url", offset, offset + 15);
  offset += 15;
  return prefix + id;
}
