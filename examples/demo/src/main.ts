/**
 * The extendkit demo: starts the local Extend emulator, generates its own documents, and
 * through `@extendkit/core`:
 *   1. parses an invoice into chunks and blocks,
 *   2. runs the seeded invoice workflow (parse → classify → extract → validate) on every
 *      document and prints what came out, with the page each field was read on,
 *   3. fills a PDF form with the extracted values (edit) and reads the result back.
 */
import { createClient, type ExtendClient, type WorkflowRun } from "@extendkit/core";
import { startEmulator } from "@extendkit/emulator";
import { type SampleDocument, sampleDocuments } from "./documents.js";
import { table } from "./table.js";

const TERMINAL = new Set(["PROCESSED", "FAILED", "NEEDS_REVIEW", "REJECTED", "CANCELLED"]);

interface Money {
  amount: number | null;
  iso_4217_currency_code: string | null;
}

async function main() {
  const started = performance.now();
  const emulator = await startEmulator({ port: 0, pageLatencyMs: 40 });
  try {
    console.log(`Emulator of the Extend API 2025-04-21 running at ${emulator.url}\n`);
    const extend = createClient({ baseUrl: emulator.url, token: emulator.token });
    const { documents, form } = await sampleDocuments();

    const fileIds: string[] = [];
    for (const doc of documents) {
      const file = await upload(extend, doc);
      fileIds.push(file.id);
      console.log(`uploaded  ${doc.name.padEnd(28)} → ${file.id} (${file.type})`);
    }

    // 1. Parse one invoice.
    const parsed = await extend.POST("/parse", {
      body: { file: { fileId: fileIds[2] as string } },
    });
    if (parsed.error) throw new Error(`parse failed: ${parsed.error.message}`);
    const blocks = parsed.data.chunks.flatMap((c) => c.blocks);
    const count = (type: string) => blocks.filter((b) => b.type === type).length;
    console.log(
      `\nparsed    ${documents[2]?.name}: ${parsed.data.metrics.pageCount} pages, ${parsed.data.chunks.length} chunks, ` +
        `${count("heading")} headings, ${count("table")} table, ${count("text")} text blocks ` +
        `in ${parsed.data.metrics.processingTimeMs} ms`,
    );
    const itemsTable = blocks.find((b) => b.type === "table");
    if (itemsTable) console.log(`\n${itemsTable.content}`);

    // 2. Run the seeded workflow on every document.
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
    console.log(summary(runs));
    console.log(checksLegend(runs));

    const twoPager = runs[2] as WorkflowRun;
    console.log(`\nfields of ${twoPager.name}, with the page each was read on:\n`);
    console.log(fields(twoPager));

    // 3. Fill the vendor-registration form from the first invoice's fields.
    const formFile = await upload(extend, form);
    const filled = await fillForm(extend, formFile.id, runs[0] as WorkflowRun);
    console.log(
      `\nfilled    ${form.name}: ${Object.keys(filled.values).length} fields → ${filled.fileId} (${filled.bytes} bytes)`,
    );
    console.log(
      table(
        ["field", "value"],
        Object.entries(filled.values).map(([k, v]) => [k, String(v)]),
      ),
    );
  } finally {
    await emulator.close();
  }
}

async function upload(extend: ExtendClient, doc: SampleDocument) {
  const body = new FormData();
  body.append("file", new Blob([doc.bytes], { type: doc.type }), doc.name);
  // openapi-fetch sends FormData as-is; the spec types the part as binary.
  const { data, error } = await extend.POST("/files/upload", { body: body as never });
  if (error) throw new Error(`upload of ${doc.name} failed: ${error.error}`);
  return data.file;
}

async function waitForRun(
  extend: ExtendClient,
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

function extraction(run: WorkflowRun) {
  return run.outputs.find((o) => o.type === "EXTRACT")?.output as
    | {
        value: Record<string, unknown>;
        metadata: Record<string, { logprobsConfidence?: number; citations?: { page?: number }[] }>;
      }
    | undefined;
}

function summary(runs: WorkflowRun[]): string {
  const rows = runs.map((run) => {
    const classification = run.outputs.find((o) => o.type === "CLASSIFY")?.output as
      | { type?: string; confidence?: number }
      | undefined;
    const value = extraction(run)?.value ?? {};
    const total = value.total as Money | undefined;
    const items = Array.isArray(value.line_items) ? value.line_items.length : 0;
    const rules = rulesOf(run);
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
      items ? String(items) : "-",
      rules.length ? `${rules.filter((r) => r.valid).length}/${rules.length}` : "-",
    ];
  });
  return table(
    ["document", "status", "type", "invoice #", "date", "vendor", "total", "items", "checks"],
    rows,
  );
}

/** The results of the run's rule-validation steps. */
function rulesOf(run: WorkflowRun) {
  return run.stepRuns.flatMap((s) => s.output?.rules ?? []);
}

/**
 * What the summary's "checks" column counts, in the words of the workflow itself (its
 * validation step and rule names, as the runs report them), so the legend cannot drift from
 * the seeded workflow.
 */
function checksLegend(runs: WorkflowRun[]): string {
  const steps = new Set<string>();
  const rules = new Set<string>();
  for (const run of runs) {
    for (const stepRun of run.stepRuns) {
      if (!stepRun.output?.rules?.length) continue;
      steps.add(`"${stepRun.step.name}"`);
      for (const rule of stepRun.output.rules) rules.add(rule.name.toLowerCase());
    }
  }
  if (rules.size === 0) return "checks: the workflow has no rule-validation step";
  return `checks: rules of the workflow's ${[...steps].join(", ")} step that passed (${[...rules].join(", ")})`;
}

function fields(run: WorkflowRun): string {
  const output = extraction(run);
  if (!output) return "(no extraction)";
  const rows = Object.entries(output.value).map(([key, value]) => {
    const shown = Array.isArray(value)
      ? `${value.length} line items`
      : value && typeof value === "object"
        ? Object.values(value)
            .filter((v) => v !== null)
            .join(" ")
        : String(value);
    const meta = output.metadata[key] ?? output.metadata[`${key}[0]`];
    return [
      key,
      shown || "null",
      meta?.citations?.[0]?.page ? String(meta.citations[0].page) : "-",
      meta?.logprobsConfidence?.toFixed(2) ?? "-",
    ];
  });
  return table(["field", "value", "page", "confidence"], rows);
}

async function fillForm(extend: ExtendClient, fileId: string, run: WorkflowRun) {
  const generated = await extend.POST("/edit_schemas/generate", { body: { file: { fileId } } });
  if (generated.error) throw new Error(`schema generation failed: ${generated.error.message}`);
  const value = extraction(run)?.value ?? {};
  const total = value.total as Money | undefined;
  const values: Record<string, unknown> = {
    vendor_name: value.vendor_name,
    invoice_reference: value.invoice_number,
    invoice_total: total?.amount?.toFixed(2),
    currency: total?.iso_4217_currency_code,
    terms_accepted: true,
  };
  const schema = generated.data.schema;
  for (const [name, field] of Object.entries(schema.properties)) {
    if (values[name] !== undefined && values[name] !== null)
      field["extend_edit:value"] = values[name];
  }
  const edited = await extend.POST("/edit", { body: { file: { fileId }, config: { schema } } });
  if (edited.error) throw new Error(`edit failed: ${edited.error.message}`);
  const url = edited.data.editedFile?.downloadUrl;
  const bytes = url ? (await (await fetch(url)).arrayBuffer()).byteLength : 0;
  return { values: edited.data.output ?? {}, fileId: edited.data.editedFile?.fileId ?? "-", bytes };
}

main().catch((error: Error) => {
  console.error(`demo failed: ${error.message}`);
  process.exit(1);
});
