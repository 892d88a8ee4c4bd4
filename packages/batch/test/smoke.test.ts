import { startEmulator } from "@extendkit/emulator";
import { expect, it } from "vitest";
import { runBatch } from "../src/index.js";

it("smoke", async () => {
  const emu = await startEmulator({ port: 0 });
  for (const mode of ["runs", "batch"] as const) {
    const inputs = Array.from({ length: 120 }, (_, i) => ({ rawText: `Invoice #${i} ${mode}\nTotal: $${i}.00` }));
    const job = runBatch({
      client: { token: emu.token, baseUrl: emu.url },
      workflowId: "workflow_invoices",
      inputs,
      mode,
      journal: false,
      pollIntervalMs: 100,
    });
    const seen = [];
    for await (const o of job) seen.push(o);
    console.log(mode, seen.length, job.stats);
    expect(seen.length).toBe(120);
  }
  await emu.close();
});
