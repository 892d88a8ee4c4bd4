/**
 * The extendkit demo: starts the local Extend emulator, generates a few documents, runs
 * the seeded invoice workflow (parse → classify → extract → validate) on them through
 * `@extendkit/core`, waits for every run, and prints what came out.
 */
import { createClient, type WorkflowRun } from "@extendkit/core";
import { startEmulator } from "@extendkit/emulator";
import { sampleDocuments } from "./documents.js";
import { table } from "./table.js";

const TERMINAL = new Set(["PROCESSED", "FAILED", "NEEDS_REVIEW", "REJECTED", "CANCELLED"]);

async function main() {
  const started = performance.now();
  const emulator = await startEmulator({ port: 0, pageLatencyMs: 40 });
  try {
    console.log(`Emulator of the Extend API 2025-04-21 running at ${emulator.url}\n`);
    const extend = createClient({ baseUrl: emulator.url, token: emulator.token });

    const documents = await sampleDocuments();
    const fileIds: string[] = [];
    for (const doc of documents) {
      const form = new FormData();
      form.append("file", new Blob([doc.bytes], { type: doc.type }), doc.name);
      // openapi-fetch sends FormData as-is; the spec types the part as binary.
      const { data, error } = await extend.POST("/files/upload", { body: form as never });
      if (error) throw new Error(`upload of ${doc.name} failed: ${error.error}`);
      fileIds.push(data.file.id);
      console.log(`uploaded  ${doc.name.padEnd(28)} → ${data.file.id} (${data.file.type})`);
    }

    const { data: created, error } = await extend.POST("/workflow_runs", {
      body: {
        workflowId: emulator.seed.workflowId,
        files: fileIds.map((fileId) => ({ fileId })),
        metadata: { source: "demo", "extend:usage_tags": ["demo"] },
      },
    });
    if (error) throw new Error(`run failed: ${error.error}`);
    console.log(
      `\nstarted   ${created.workflowRuns.length} runs of "${created.workflowRuns[0]?.workflow.name}"; waiting…`,
    );

    const runs = await Promise.all(created.workflowRuns.map((run) => waitForRun(extend, run.id)));
    console.log(`finished  in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    console.log(renderResults(runs));
  } finally {
    await emulator.close();
  }
}

async function waitForRun(
  extend: ReturnType<typeof createClient>,
  id: string,
  timeoutMs = 30_000,
): Promise<WorkflowRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data, error } = await extend.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: id } },
    });
    if (error) throw new Error(`polling ${id} failed: ${error.error}`);
    if (TERMINAL.has(data.workflowRun.status)) return data.workflowRun;
    if (Date.now() > deadline)
      throw new Error(`run ${id} is still ${data.workflowRun.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Money {
  amount: number | null;
  iso_4217_currency_code: string | null;
}

function renderResults(runs: WorkflowRun[]): string {
  const rows = runs.map((run) => {
    const classification = run.outputs.find((o) => o.type === "CLASSIFY")?.output as
      | { type?: string; confidence?: number }
      | undefined;
    const extraction = run.outputs.find((o) => o.type === "EXTRACT")?.output as
      | { value?: Record<string, unknown> }
      | undefined;
    const value = extraction?.value ?? {};
    const total = value.total as Money | undefined;
    const rules = run.stepRuns.flatMap((s) => s.output?.rules ?? []);
    const passed = rules.filter((r) => r.valid).length;
    return [
      run.name,
      run.status,
      classification
        ? `${classification.type} ${Math.round((classification.confidence ?? 0) * 100)}%`
        : "-",
      String(value.invoice_number ?? "-"),
      String(value.invoice_date ?? "-"),
      String(value.vendor_name ?? "-"),
      total?.amount != null
        ? `${total.amount.toFixed(2)} ${total.iso_4217_currency_code ?? ""}`.trim()
        : "-",
      rules.length ? `${passed}/${rules.length}` : "-",
    ];
  });
  return table(
    ["document", "status", "type", "invoice #", "date", "vendor", "total", "checks"],
    rows,
  );
}

main().catch((error: Error) => {
  console.error(`demo failed: ${error.message}`);
  process.exit(1);
});
