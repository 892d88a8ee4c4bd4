import type { Schemas } from "@extendkit/core";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

type EditSchema = Schemas["EditRootJsonSchema"];

/** A one-page form: a text field, a checkbox and a dropdown, at known positions. */
async function formPdf(): Promise<Uint8Array<ArrayBuffer>> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const page = pdf.addPage([612, 792]);
  page.drawText("Application form", { x: 72, y: 720, size: 18, font });
  const form = pdf.getForm();
  form.createTextField("full_name").addToPage(page, { x: 72, y: 600, width: 240, height: 24 });
  form.createCheckBox("agree_terms").addToPage(page, { x: 72, y: 560, width: 16, height: 16 });
  const country = form.createDropdown("country");
  country.addOptions(["Canada", "France", "Japan"]);
  country.addToPage(page, { x: 72, y: 520, width: 160, height: 24 });
  return new Uint8Array(await pdf.save());
}

const upload = (name: string, bytes: Uint8Array | string) => t.upload(name, bytes);

async function uploadForm(name = "form.pdf") {
  return upload(name, await formPdf());
}

/** The form's generated schema, with `extend_edit:value` set on the named fields. */
async function schemaWith(fileId: string, values: Record<string, unknown>): Promise<EditSchema> {
  const { data } = await t.client.POST("/edit_schemas/generate", {
    body: { file: { fileId } },
  });
  const schema: EditSchema = JSON.parse(JSON.stringify(data!.schema));
  for (const [key, value] of Object.entries(values)) {
    const property = schema.properties[key] ?? {};
    schema.properties[key] = { ...property, "extend_edit:value": value };
  }
  return schema;
}

/** Downloads a PDF from a presigned URL (no token) and reads its form's values. */
async function formValues(url: string) {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const pdf = await PDFDocument.load(new Uint8Array(await response.arrayBuffer()));
  const form = pdf.getForm();
  if (form.getFields().length === 0) return { fieldCount: 0 };
  return {
    fieldCount: form.getFields().length,
    full_name: form.getTextField("full_name").getText(),
    agree_terms: form.getCheckBox("agree_terms").isChecked(),
    country: form.getDropdown("country").getSelected(),
  };
}

async function presignedUrl(fileId: string) {
  const { data } = await t.client.GET("/files/{id}", { params: { path: { id: fileId } } });
  return data!.file.presignedUrl!;
}

async function getEditRun(id: string) {
  const { data, error } = await t.client.GET("/edit_runs/{id}", { params: { path: { id } } });
  expect(error).toBeUndefined();
  expect(data?.success).toBe(true);
  return data!.editRun;
}

const filled = { full_name: "Ada Lovelace", agree_terms: true, country: "France" };

describe("POST /edit_schemas/generate", () => {
  test("answers the bare schema of the form's own fields, typed and placed", async () => {
    const file = await uploadForm();
    const { data, error } = await t.client.POST("/edit_schemas/generate", {
      body: { file: { fileId: file.id } },
    });
    expect(error).toBeUndefined();
    expect(data).not.toHaveProperty("success");
    expect(data).not.toHaveProperty("mappingResult");
    const schema = data!.schema;
    expect(schema.type).toBe("object");
    expect(Object.keys(schema.properties).sort()).toEqual(["agree_terms", "country", "full_name"]);
    expect(schema.properties.full_name).toMatchObject({
      type: ["string", "null"],
      "extend_edit:field_type": "text",
      "extend_edit:page_index": 0,
    });
    // Drawn 72..312 across and 600..624 points above the bottom of a 792-point page (the
    // widget's rectangle takes in half of its 1-point border).
    const bbox = schema.properties.full_name?.["extend_edit:bbox"];
    const drawn = { left: 72, top: 168, right: 312, bottom: 192 };
    for (const side of ["left", "top", "right", "bottom"] as const)
      expect(Math.abs(bbox![side] - drawn[side]), side).toBeLessThanOrEqual(1);
    expect(schema.properties.agree_terms).toMatchObject({
      type: ["boolean", "null"],
      "extend_edit:field_type": "checkbox",
      "extend_edit:page_index": 0,
    });
    expect(schema.properties.country).toMatchObject({
      enum: ["Canada", "France", "Japan"],
      "extend_edit:field_type": "dropdown",
      "extend_edit:page_index": 0,
    });
    expect(schema.properties.country).not.toHaveProperty("type");
  });

  test("with an inputSchema, maps its paths onto the form's fields by name", async () => {
    const file = await uploadForm();
    const { data } = await t.client.POST("/edit_schemas/generate", {
      body: {
        file: { fileId: file.id },
        config: {
          inputSchema: {
            type: "object",
            properties: {
              fullName: { type: ["string", "null"] },
              Country: { type: ["string", "null"] },
              ssn: { type: ["string", "null"] },
            },
          },
        },
      },
    });
    expect(Object.keys(data!.schema.properties)).toHaveLength(3);
    expect(data?.mappingResult).toEqual({
      matches: [
        { inputPath: "fullName", formFieldKey: "full_name" },
        { inputPath: "Country", formFieldKey: "country" },
      ],
      unmatchedInputPaths: ["ssn"],
      unusedFormFieldKeys: ["agree_terms"],
    });
  });

  test.each([
    ["a text file", 400, "FILE_TYPE_NOT_SUPPORTED", "notes.txt", "not a form"],
    ["a PDF that cannot be read", 422, "CORRUPT_FILE", "broken.pdf", "%PDF-1.7\ngarbage"],
  ])("refuses %s with %i %s", async (_what, status, code, name, content) => {
    const file = await upload(name, content);
    const answer = await t.request("POST", "/edit_schemas/generate", {
      body: { file: { fileId: file.id } },
    });
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ code, retryable: false, requestId: expect.any(String) });
    expect(answer.body.message).toEqual(expect.any(String));
  });

  test.each([
    ["no file", {}, 400, /body\.file is required/],
    ["an unknown fileId", { file: { fileId: "file_doesnotexist" } }, 404, /file_doesnotexist/],
  ])("refuses a request with %s", async (_what, body, status, message) => {
    const answer = await t.request("POST", "/edit_schemas/generate", { body });
    expect(answer.status).toBe(status);
    expect(answer.body.message).toMatch(message);
  });
});

describe("POST /edit", () => {
  test("fills the form and answers the bare edit run with a link to the filled PDF", async () => {
    const file = await uploadForm("application.pdf");
    const schema = await schemaWith(file.id, filled);
    const { data, error } = await t.client.POST("/edit", {
      body: { file: { fileId: file.id }, config: { schema } },
    });
    expect(error).toBeUndefined();
    const run = data!;
    expect(run).not.toHaveProperty("success");
    expect(run.object).toBe("edit_run");
    expect(run.id).toMatch(/^edit_run_[A-Za-z0-9_-]{20}$/);
    expect(run.status).toBe("PROCESSED");
    expect(run.fileId).toBe(file.id);
    expect(run.output).toEqual(filled);
    expect(run.config).toEqual({ schema });
    expect(run.metrics).toMatchObject({ fieldCount: 3, pageCount: 1 });
    expect(run.editedFile?.fileId).toMatch(/^file_/);
    expect(run.editedFile?.fileId).not.toBe(file.id);

    expect(await formValues(run.editedFile!.downloadUrl!)).toEqual({
      fieldCount: 3,
      full_name: "Ada Lovelace",
      agree_terms: true,
      country: ["France"],
    });
    // The edited file is a file of its own, derived from the input; the input is unchanged.
    const { data: edited } = await t.client.GET("/files/{id}", {
      params: { path: { id: run.editedFile!.fileId! } },
    });
    expect(edited?.file).toMatchObject({ type: "PDF", parentFileId: file.id });
    expect(edited?.file.name).toMatch(/\.pdf$/);
    expect(await formValues(await presignedUrl(file.id))).toMatchObject({
      full_name: undefined,
      agree_terms: false,
      country: [],
    });
  });

  test("writes only the fields that carry a value", async () => {
    const file = await uploadForm();
    const schema = await schemaWith(file.id, { full_name: "Grace Hopper" });
    const { data } = await t.client.POST("/edit", {
      body: { file: { fileId: file.id }, config: { schema } },
    });
    expect(data?.output).toEqual({ full_name: "Grace Hopper" });
    expect(await formValues(data!.editedFile!.downloadUrl!)).toMatchObject({
      full_name: "Grace Hopper",
      agree_terms: false,
      country: [],
    });
  });

  test("with flattenPdf, answers a PDF whose fields can no longer be edited", async () => {
    const file = await uploadForm();
    const schema = await schemaWith(file.id, filled);
    const { data } = await t.client.POST("/edit", {
      body: {
        file: { fileId: file.id },
        config: { schema, advancedOptions: { flattenPdf: true } },
      },
    });
    expect(data?.status).toBe("PROCESSED");
    expect(data?.output).toEqual(filled);
    expect(await formValues(data!.editedFile!.downloadUrl!)).toEqual({ fieldCount: 0 });
  });

  test("answers 422 SCHEMA_VALIDATION_FAILED for a schema naming a field the form lacks", async () => {
    const file = await uploadForm();
    const schema = await schemaWith(file.id, { full_name: "Ada", middle_name: "King" });
    const { status, body } = await t.request("POST", "/edit", {
      body: { file: { fileId: file.id }, config: { schema } },
    });
    expect(status).toBe(422);
    expect(body).toMatchObject({
      code: "SCHEMA_VALIDATION_FAILED",
      retryable: false,
      requestId: expect.stringMatching(/^req_/),
    });
    expect(body.message).toContain("middle_name");
  });

  test.each([
    [
      "neither file nor templateId",
      { config: {} },
      400,
      "INVALID_REQUEST",
      /must include one of `file` or `templateId`/,
    ],
    [
      "a file with neither fileId nor fileUrl",
      { file: { fileName: "form.pdf" } },
      400,
      "INVALID_REQUEST",
      /body\.file\.(fileId|fileUrl)|body\.file must include/,
    ],
    [
      "a schema whose type is not object",
      { file: { fileId: "file_x" }, config: { schema: { type: "array", properties: {} } } },
      400,
      "INVALID_REQUEST",
      /body\.config\.schema\.type must be "object"/,
    ],
    [
      "an unknown fileId",
      { file: { fileId: "file_doesnotexist" } },
      404,
      "NOT_FOUND",
      /file_doesnotexist/,
    ],
    [
      "an unknown templateId",
      { templateId: "edt_doesnotexist" },
      404,
      "NOT_FOUND",
      /edt_doesnotexist/,
    ],
  ])("refuses a request with %s, sync or async", async (_what, request, status, code, message) => {
    for (const path of ["/edit", "/edit/async"]) {
      const { status: got, body } = await t.request("POST", path, { body: request });
      expect(got, path).toBe(status);
      expect(body).toMatchObject({ code, retryable: false });
      expect(body.message).toMatch(message);
    }
  });

  test.each([
    ["a text file", 400, "FILE_TYPE_NOT_SUPPORTED", "letter.txt", "Dear customer"],
    ["a PDF that cannot be read", 422, "CORRUPT_FILE", "broken.pdf", "%PDF-1.7\ngarbage"],
  ])("refuses %s with %i %s", async (_what, status, code, name, content) => {
    const file = await upload(name, content);
    const answer = await t.request("POST", "/edit", { body: { file: { fileId: file.id } } });
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ code, retryable: false, requestId: expect.any(String) });
  });
});

describe("POST /edit/async", () => {
  test("answers the bare PROCESSING status, and the finished run with its download once done", async () => {
    const file = await uploadForm();
    const schema = await schemaWith(file.id, filled);
    const { data, error } = await t.client.POST("/edit/async", {
      body: { file: { fileId: file.id }, config: { schema } },
    });
    expect(error).toBeUndefined();
    expect(data).toEqual({
      object: "edit_run_status",
      id: expect.stringMatching(/^edit_run_[A-Za-z0-9_-]{20}$/),
      status: "PROCESSING",
    });
    await t.emulator.idle();
    const run = await getEditRun(data!.id);
    expect(run).toMatchObject({
      object: "edit_run",
      id: data!.id,
      fileId: file.id,
      status: "PROCESSED",
      output: filled,
    });
    if (run.object !== "edit_run") return;
    expect(await formValues(run.editedFile!.downloadUrl!)).toMatchObject({
      full_name: "Ada Lovelace",
      agree_terms: true,
      country: ["France"],
    });
  });

  test("ends a run whose schema names a missing field FAILED with SCHEMA_VALIDATION_FAILED", async () => {
    const file = await uploadForm();
    const schema = await schemaWith(file.id, { nickname: "Ada" });
    const { data } = await t.client.POST("/edit/async", {
      body: { file: { fileId: file.id }, config: { schema } },
    });
    await t.emulator.idle();
    const run = await getEditRun(data!.id);
    expect(run).toMatchObject({
      object: "edit_run",
      status: "FAILED",
      failureReason: "SCHEMA_VALIDATION_FAILED",
    });
    expect(run).not.toHaveProperty("editedFile");
  });

  describe("while no worker has taken the run", () => {
    let paused: TestEmulator;
    beforeAll(async () => {
      paused = await startTestEmulator({ concurrency: 0 });
    });
    afterAll(() => paused.close());

    test("GET answers the status object in its envelope", async () => {
      const { data: run } = await paused.client.POST("/edit/async", {
        body: { file: { fileUrl: "http://127.0.0.1:9/never-fetched.pdf" } },
      });
      const { data } = await paused.client.GET("/edit_runs/{id}", {
        params: { path: { id: run!.id } },
      });
      expect(data).toEqual({
        success: true,
        editRun: { object: "edit_run_status", id: run!.id, status: "PROCESSING" },
      });
    });
  });
});

describe("GET /edit_runs/{id}", () => {
  test("answers the finished run with a fresh download link", async () => {
    const file = await uploadForm();
    const schema = await schemaWith(file.id, filled);
    const { data: created } = await t.client.POST("/edit", {
      body: { file: { fileId: file.id }, config: { schema } },
    });
    const run = await getEditRun(created!.id);
    expect(run).toMatchObject({
      object: "edit_run",
      id: created!.id,
      status: "PROCESSED",
      output: filled,
      editedFile: { fileId: created!.editedFile!.fileId },
    });
    if (run.object !== "edit_run") return;
    expect((await formValues(run.editedFile!.downloadUrl!)).full_name).toBe("Ada Lovelace");
  });

  test("answers 404 for an unknown run", async () => {
    const { status, body } = await t.request("GET", "/edit_runs/edit_run_doesnotexist");
    expect(status).toBe(404);
    expect(body.error).toContain("edit_run_doesnotexist");
  });
});

describe("DELETE /edit_runs/{id}", () => {
  test("deletes the run and its edited file: GET, a second DELETE and the download answer 404", async () => {
    const file = await uploadForm();
    const schema = await schemaWith(file.id, filled);
    const { data: created } = await t.client.POST("/edit", {
      body: { file: { fileId: file.id }, config: { schema } },
    });
    const id = created!.id;
    const edited = created!.editedFile!;
    const { data } = await t.client.DELETE("/edit_runs/{id}", { params: { path: { id } } });
    expect(data).toMatchObject({ success: true, editRunId: id });
    expect(data?.message).toEqual(expect.any(String));
    expect((await t.request("GET", `/edit_runs/${id}`)).status).toBe(404);
    expect((await t.request("DELETE", `/edit_runs/${id}`)).status).toBe(404);
    expect((await t.request("GET", `/files/${edited.fileId}`)).status).toBe(404);
    expect((await fetch(edited.downloadUrl!)).status).toBe(404);
    // The input file stays.
    expect((await t.request("GET", `/files/${file.id}`)).status).toBe(200);
  });
});

describe("edit templates", () => {
  async function createTemplate(values: Record<string, unknown>) {
    const file = await uploadForm("template-form.pdf");
    const schema = await schemaWith(file.id, values);
    const { editTemplate } = await t.admin("POST", "/edit_templates", {
      name: "Onboarding form",
      fileId: file.id,
      config: { schema, instructions: "Fill in the applicant" },
    });
    return { file, schema, template: editTemplate as Schemas["EditTemplate"] };
  }

  test("GET /edit_templates/{id} answers a template created through the admin API", async () => {
    const { file, schema, template } = await createTemplate(filled);
    expect(template.id).toMatch(/^edt_/);
    const { data, error } = await t.client.GET("/edit_templates/{id}", {
      params: { path: { id: template.id } },
    });
    expect(error).toBeUndefined();
    expect(data?.success).toBe(true);
    expect(data?.editTemplate).toMatchObject({
      object: "edit_template",
      id: template.id,
      name: "Onboarding form",
      file: { object: "file", id: file.id, name: "template-form.pdf", type: "PDF" },
      config: { schema, instructions: "Fill in the applicant" },
    });
  });

  test("GET /edit_templates/{id} answers 404 for an unknown template", async () => {
    const { status, body } = await t.request("GET", "/edit_templates/edt_doesnotexist");
    expect(status).toBe(404);
    expect(body).toMatchObject({ success: false, code: "NOT_FOUND" });
    expect(body.error).toContain("edt_doesnotexist");
  });

  test("POST /edit with a templateId fills the template's file with the template's config", async () => {
    const { file, template } = await createTemplate(filled);
    const { data, error } = await t.client.POST("/edit", {
      body: { templateId: template.id },
    });
    expect(error).toBeUndefined();
    expect(data?.status).toBe("PROCESSED");
    expect(data?.fileId).toBe(file.id);
    expect(data?.output).toEqual(filled);
    expect(data?.config.instructions).toBe("Fill in the applicant");
    expect(await formValues(data!.editedFile!.downloadUrl!)).toMatchObject({
      full_name: "Ada Lovelace",
      country: ["France"],
    });
  });

  test("POST /edit with a templateId lets the request's config keys override the template's", async () => {
    const { file, template } = await createTemplate(filled);
    const schema = await schemaWith(file.id, { country: "Japan" });
    const { data } = await t.client.POST("/edit", {
      body: { templateId: template.id, config: { schema } },
    });
    expect(data?.fileId).toBe(file.id);
    expect(data?.output).toEqual({ country: "Japan" });
    expect(data?.config).toEqual({ schema, instructions: "Fill in the applicant" });
    expect(await formValues(data!.editedFile!.downloadUrl!)).toMatchObject({
      full_name: undefined,
      country: ["Japan"],
    });
  });
});
