import type { Schemas } from "@extendkit/core";
import { type Context, signedUrl } from "./context.js";
import { isStopReason } from "./engine.js";
import { badRequest, notFound } from "./errors.js";
import { createFile, fileBytes, getFile, resolveFileInput } from "./files.js";
import { newId, PREFIX } from "./ids.js";
import { simulateWork } from "./processing.js";
import { ProcessingError } from "./processors/errors.js";
import { fillForm, formSchema } from "./processors/forms.js";

type EditRun = Schemas["EditRun"];
type EditRunStatus = Schemas["EditRunStatus"];

interface EditRunInternal {
  fileId: string;
  config: Schemas["EditConfig"];
}

/** The file and config an edit request names: its own, or its template's with overrides. */
export function resolveEditRequest(ctx: Context, body: Schemas["EditRequest"]): EditRunInternal {
  if (body.templateId === "")
    throw badRequest(
      "Invalid request: templateId is empty; pass an edit template id (edt_...) or leave it out and send a file.",
    );
  if (body.templateId !== undefined) {
    const template = ctx.store.get("edit_template", body.templateId);
    if (!template) throw notFound("Edit template", body.templateId);
    const file = body.file ? resolveFileInput(ctx, body.file) : template.data.file;
    return { fileId: file.id, config: { ...template.data.config, ...body.config } };
  }
  const file = resolveFileInput(ctx, body.file as Schemas["FileInput"]);
  return { fileId: file.id, config: body.config ?? {} };
}

async function pdfBytes(ctx: Context, fileId: string) {
  const bytes = await fileBytes(ctx, fileId);
  const file = getFile(ctx, fileId).data;
  if (file.type !== "PDF") {
    throw new ProcessingError(
      "FILE_TYPE_NOT_SUPPORTED",
      `Edit works on PDF forms; "${file.name}" is ${file.type ?? "of an unknown type"}.`,
    );
  }
  return { bytes, file };
}

async function edit(
  ctx: Context,
  id: string,
  input: EditRunInternal,
  signal: AbortSignal,
): Promise<EditRun> {
  const started = performance.now();
  const { bytes, file } = await pdfBytes(ctx, input.fileId);
  const filled = await fillForm(bytes, input.config.schema, {
    flatten: input.config.advancedOptions?.flattenPdf === true,
  });
  await simulateWork(ctx, filled.pageCount, signal);
  const edited = await createFile(ctx, {
    name: file.name.replace(/(\.pdf)?$/i, "_edited.pdf"),
    bytes: filled.bytes,
    parentFileId: file.id,
  });
  const elapsed = Math.round((performance.now() - started) * 100) / 100;
  return {
    object: "edit_run",
    id,
    fileId: input.fileId,
    editedFile: {
      fileId: edited.id,
      downloadUrl: signedUrl(ctx, `/_emulator/files/${edited.id}/content`, 15 * 60),
    },
    status: "PROCESSED",
    config: input.config,
    output: filled.output,
    metrics: {
      processingTimeMs: elapsed,
      fieldCount: filled.fieldCount,
      pageCount: filled.pageCount,
      fieldFillingTimeMs: elapsed,
    },
  };
}

/** `POST /edit`: fill the form now and keep the run. */
export async function editNow(ctx: Context, input: EditRunInternal): Promise<EditRun> {
  const id = newId(PREFIX.editRun);
  const run = await edit(ctx, id, input, new AbortController().signal);
  ctx.store.insert("edit_run", id, run, { parentId: input.fileId, status: run.status }, input);
  return run;
}

/** `POST /edit/async`: keep a PROCESSING status and queue the work. */
export function startEdit(ctx: Context, input: EditRunInternal): EditRunStatus {
  const id = newId(PREFIX.editRun);
  const status: EditRunStatus = { object: "edit_run_status", id, status: "PROCESSING" };
  ctx.store.insert("edit_run", id, status, { parentId: input.fileId, status: "PROCESSING" }, input);
  ctx.engine.enqueue("edit_run", id, 50);
  return status;
}

export async function editRunJob(ctx: Context, id: string, signal: AbortSignal) {
  const stored = ctx.store.get<"edit_run", EditRunInternal>("edit_run", id);
  if (stored?.data.status !== "PROCESSING") return;
  let run: EditRun;
  try {
    run = await edit(ctx, id, stored.internal, signal);
  } catch (error) {
    if (isStopReason(error)) return;
    run = {
      object: "edit_run",
      id,
      fileId: stored.internal.fileId,
      status: "FAILED",
      failureReason: error instanceof ProcessingError ? error.code : "INTERNAL_ERROR",
      config: stored.internal.config,
      metrics: {},
    };
  }
  if (ctx.store.get("edit_run", id))
    ctx.store.update("edit_run", id, run, { index: { status: run.status } });
}

/** An edit run as stored, with a fresh download link for its edited file. */
export function getEditRun(ctx: Context, id: string): EditRun | EditRunStatus {
  const stored = ctx.store.get("edit_run", id);
  if (!stored) throw notFound("Edit run", id);
  const run = stored.data;
  if (run.object === "edit_run" && run.editedFile?.fileId) {
    return {
      ...run,
      editedFile: {
        ...run.editedFile,
        downloadUrl: signedUrl(ctx, `/_emulator/files/${run.editedFile.fileId}/content`, 15 * 60),
      },
    };
  }
  return run;
}

/** `POST /edit_schemas/generate`: the form's fields, and how an input schema maps onto them. */
export async function generateEditSchema(
  ctx: Context,
  body: Schemas["GenerateEditSchemaRequest"],
): Promise<Schemas["EditSchemaGenerationResponse"]> {
  const file = resolveFileInput(ctx, body.file);
  const { bytes } = await pdfBytes(ctx, file.id);
  const schema = await formSchema(bytes);
  const input = body.config?.inputSchema;
  if (!input) return { schema };
  const normalize = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
  const keys = Object.keys(schema.properties);
  const matches: { inputPath: string; formFieldKey: string }[] = [];
  const unmatchedInputPaths: string[] = [];
  for (const path of Object.keys(input.properties)) {
    const key = keys.find((k) => normalize(k) === normalize(path));
    if (key) matches.push({ inputPath: path, formFieldKey: key });
    else unmatchedInputPaths.push(path);
  }
  const used = new Set(matches.map((m) => m.formFieldKey));
  return {
    schema,
    mappingResult: {
      matches,
      unmatchedInputPaths,
      unusedFormFieldKeys: keys.filter((k) => !used.has(k)),
    },
  };
}
