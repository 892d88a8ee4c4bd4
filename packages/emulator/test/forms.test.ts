import { PDFDocument, PDFSignature, PDFString } from "pdf-lib";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

/** A one-page form with a radio group and a signature field (pdf-lib cannot create signature
 * fields, so its dictionary is written by hand: a merged field and widget with /FT /Sig). */
async function formPdf() {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([612, 792]);
  const form = pdf.getForm();
  const plan = form.createRadioGroup("plan");
  plan.addOptionToPage("basic", page, { x: 72, y: 700, width: 14, height: 14 });
  plan.addOptionToPage("pro", page, { x: 140, y: 700, width: 14, height: 14 });
  const ctx = pdf.context;
  const signature = ctx.register(
    ctx.obj({
      FT: "Sig",
      T: PDFString.of("signature"),
      Type: "Annot",
      Subtype: "Widget",
      Rect: [72, 100, 272, 130],
      P: page.ref,
      F: 4,
    }),
  );
  page.node.addAnnot(signature);
  form.acroForm.addField(signature);
  return pdf.save();
}

let t: TestEmulator;
let fileId: string;
beforeAll(async () => {
  t = await startTestEmulator();
  const form = new FormData();
  form.append(
    "file",
    new Blob([new Uint8Array(await formPdf())], { type: "application/pdf" }),
    "form.pdf",
  );
  fileId = (await t.client.POST("/files/upload", { body: form as never })).data!.file.id;
});
afterAll(() => t.close());

describe("form fields", () => {
  test("a radio group and a signature field become radio and signature fields with page and box", async () => {
    const { data } = await t.client.POST("/edit_schemas/generate", { body: { file: { fileId } } });
    const props = data!.schema.properties;
    expect(props.plan).toMatchObject({
      enum: ["basic", "pro"],
      "extend_edit:field_type": "radio",
      "extend_edit:page_index": 0,
    });
    expect(props.signature).toMatchObject({
      "extend_edit:field_type": "signature",
      "extend_edit:page_index": 0,
    });
    // The box is in points from the top-left: the field was drawn 100–130 pt from the bottom of a 792 pt page.
    expect(props.signature?.["extend_edit:bbox"]).toEqual({
      left: 72,
      top: 662,
      right: 272,
      bottom: 692,
    });
  });

  test("editing selects the radio option and writes the signer's name into the signature box", async () => {
    const { data } = await t.client.POST("/edit", {
      body: {
        file: { fileId },
        config: {
          schema: {
            type: "object",
            properties: {
              plan: { enum: ["basic", "pro"], "extend_edit:value": "pro" },
              signature: { type: ["string", "null"], "extend_edit:value": "Ada Lovelace" },
            },
          },
        },
      },
    });
    expect(data?.status).toBe("PROCESSED");
    expect(data?.output).toEqual({ plan: "pro", signature: "Ada Lovelace" });
    const edited = new Uint8Array(
      await (await fetch(data!.editedFile!.downloadUrl!)).arrayBuffer(),
    );
    const pdf = await PDFDocument.load(edited);
    expect(pdf.getForm().getRadioGroup("plan").getSelected()).toBe("pro");
    expect(pdf.getForm().getField("signature")).toBeInstanceOf(PDFSignature);
    const doc = await getDocument({ data: new Uint8Array(edited), verbosity: 0 }).promise;
    const text = await (await doc.getPage(1)).getTextContent();
    const name = text.items.find((i) => "str" in i && i.str === "Ada Lovelace");
    expect(name).toBeDefined();
    // Drawn inside the box (72–272 pt across, 100–130 pt up).
    const [x, y] = [
      (name as { transform: number[] }).transform[4] as number,
      (name as { transform: number[] }).transform[5] as number,
    ];
    expect(x).toBeGreaterThanOrEqual(72);
    expect(x).toBeLessThan(272);
    expect(y).toBeGreaterThanOrEqual(100);
    expect(y).toBeLessThan(130);
    await doc.destroy();
  });
});
