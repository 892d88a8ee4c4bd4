import { createMemoryJournal, runBatch } from "@extendkit/batch";
import type { Emulator } from "@extendkit/emulator";

/** Runs three raw texts through the batch runner; resolves to their statuses. */
export async function runThree(emulator: Emulator): Promise<string> {
  const job = runBatch({
    workflowId: emulator.seed.workflowId,
    inputs: ["one", "two", "three"].map((n) => ({ rawText: `Invoice ${n}, total $1.00` })),
    client: { token: emulator.token, baseUrl: emulator.url },
    journal: createMemoryJournal(),
    pollIntervalMs: 50,
  });
  const statuses: string[] = [];
  for await (const outcome of job) statuses.push(outcome.status);
  const summary = await job.done();
  if (statuses.length !== 3) throw new Error(`batch gave ${statuses.length} outcomes`);
  return `${statuses.join(",")} (${summary.total} in the summary)`;
}
