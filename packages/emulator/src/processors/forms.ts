import type { Schemas } from "@extendkit/core";
import {
  PDFCheckBox,
  PDFDocument,
  PDFDropdown,
  PDFOptionList,
  PDFRadioGroup,
  PDFSignature,
  PDFTextField,
  StandardFonts,
} from "pdf-lib";
import { ProcessingError } from "./errors.js";

type EditRootJsonSchema = Schemas["EditRootJsonSchema"];
type EditJsonSchema = Schemas["EditJsonSchema"];

async function load(bytes: Uint8Array) {
  try {
    const pdf = await PDFDocument.load(bytes, { updateMetadata: false });
    // pdf-lib loads some damaged files without complaint and fails later on the missing
    // catalog: reading the pages and form here makes that a CORRUPT_FILE, not a crash.
    pdf.getPages();
    pdf.getForm();
    return pdf;
  } catch (error) {
    const message = (error as Error).message;
    if (/encrypt/i.test(message))
      throw new ProcessingError(
        "PASSWORD_PROTECTED_FILE",
        "The PDF is encrypted; remove the password and upload it again.",
      );
    throw new ProcessingError("CORRUPT_FILE", `The PDF cannot be read (${message}).`);
  }
}

/** The PDF's own form fields as an edit schema, keyed by field name. */
export async function formSchema(bytes: Uint8Array): Promise<EditRootJsonSchema> {
  const pdf = await load(bytes);
  const pages = pdf.getPages();
  const properties: Record<string, EditJsonSchema> = {};
  for (const field of pdf.getForm().getFields()) {
    const widget = field.acroField.getWidgets()[0];
    const rect = widget?.getRectangle();
    const pageIndex = widget ? pages.findIndex((p) => p.ref === widget.P()) : -1;
    const height = pageIndex >= 0 ? (pages[pageIndex]?.getHeight() ?? 0) : 0;
    const geometry = {
      ...(pageIndex >= 0 ? { "extend_edit:page_index": pageIndex } : {}),
      ...(rect
        ? {
            "extend_edit:bbox": {
              left: rect.x,
              top: height - rect.y - rect.height,
              right: rect.x + rect.width,
              bottom: height - rect.y,
            },
          }
        : {}),
    };
    const name = field.getName();
    if (field instanceof PDFSignature) {
      properties[name] = {
        type: ["string", "null"],
        "extend_edit:field_type": "signature",
        ...geometry,
      };
    } else if (field instanceof PDFCheckBox) {
      properties[name] = {
        type: ["boolean", "null"],
        "extend_edit:field_type": "checkbox",
        ...geometry,
      };
    } else if (field instanceof PDFRadioGroup) {
      properties[name] = {
        enum: field.getOptions(),
        "extend_edit:field_type": "radio",
        ...geometry,
      };
    } else if (field instanceof PDFDropdown) {
      properties[name] = {
        enum: field.getOptions(),
        "extend_edit:field_type": "dropdown",
        ...geometry,
      };
    } else if (field instanceof PDFOptionList) {
      properties[name] = {
        enum: field.getOptions(),
        "extend_edit:field_type": "optionList",
        ...geometry,
      };
    } else if (field instanceof PDFTextField) {
      const maxLength = field.getMaxLength();
      properties[name] = {
        type: ["string", "null"],
        "extend_edit:field_type": "text",
        ...(maxLength ? { "extend_edit:text_edit_options": { maxLength } } : {}),
        ...geometry,
      };
    } else {
      properties[name] = {
        type: ["string", "null"],
        "extend_edit:field_type": "unknown",
        ...geometry,
      };
    }
  }
  return { type: "object", properties };
}

/**
 * Writes each property's `extend_edit:value` into the form field of the same name.
 * Answers the filled PDF, the values written, and the number of fields.
 */
export async function fillForm(
  bytes: Uint8Array,
  schema: EditRootJsonSchema | undefined,
  options: { flatten?: boolean } = {},
): Promise<{
  bytes: Uint8Array;
  output: Record<string, unknown>;
  fieldCount: number;
  pageCount: number;
}> {
  const pdf = await load(bytes);
  const form = pdf.getForm();
  const output: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    const value = property["extend_edit:value"];
    if (value === undefined) continue;
    const field = form.getFields().find((f) => f.getName() === name);
    if (!field) {
      throw new ProcessingError(
        "SCHEMA_VALIDATION_FAILED",
        `The schema names a field "${name}" that the form does not have; generate the schema with /edit_schemas/generate to see the form's fields.`,
      );
    }
    if (field instanceof PDFCheckBox) {
      if (value) field.check();
      else field.uncheck();
    } else if (field instanceof PDFRadioGroup || field instanceof PDFDropdown) {
      if (value !== null) field.select(String(value));
    } else if (field instanceof PDFOptionList) {
      if (value !== null) field.select(Array.isArray(value) ? value.map(String) : String(value));
    } else if (field instanceof PDFTextField) {
      field.setText(value === null ? "" : String(value));
    } else if (field instanceof PDFSignature && value !== null) {
      // A signature field has no value to set: the name is written into its box, in italics.
      const widget = field.acroField.getWidgets()[0];
      const page = pdf.getPages().find((p) => p.ref === widget?.P()) ?? pdf.getPage(0);
      const rect = widget?.getRectangle() ?? { x: 0, y: 0, width: 200, height: 20 };
      const font = await pdf.embedFont(StandardFonts.HelveticaOblique);
      const size = Math.min(14, rect.height * 0.7);
      page.drawText(String(value), {
        x: rect.x + 4,
        y: rect.y + (rect.height - size) / 2 + 2,
        size,
        font,
      });
    }
    output[name] = value;
  }
  const fieldCount = form.getFields().length;
  if (options.flatten) form.flatten();
  return { bytes: await pdf.save(), output, fieldCount, pageCount: pdf.getPageCount() };
}
