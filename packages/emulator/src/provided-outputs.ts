import type { Schemas } from "@extendkit/core";
import { badRequest } from "./errors.js";

type Provided = Schemas["ProvidedProcessorOutput"];
type Output = Schemas["ProcessorOutput"];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Turns an output supplied by the caller (a review correction or a `files[].outputs`
 * override) into the complete output of a processor of `type`. Extraction corrections may
 * name only some fields: they are merged into `current`. A shape that does not fit the
 * processor's type is a 400.
 */
export function completeOutput(
  provided: Provided,
  type: Schemas["ProcessorType"],
  current?: Output | null,
  where = "body",
): Output {
  const p = provided as Record<string, unknown>;
  switch (type) {
    case "CLASSIFY":
      if (typeof p.id !== "string" || typeof p.type !== "string") {
        throw badRequest(
          `Invalid request: ${where} must be a classification output { id, type, confidence? } for this CLASSIFY processor.`,
        );
      }
      return {
        id: p.id,
        type: p.type,
        confidence: typeof p.confidence === "number" ? p.confidence : 1,
        insights: [],
      };
    case "SPLITTER":
      if (!Array.isArray(p.splits)) {
        throw badRequest(
          `Invalid request: ${where} must be a splitter output { splits } for this SPLITTER processor.`,
        );
      }
      return {
        splits: (p.splits as Schemas["ProvidedSplit"][]).map((s) => ({
          ...s,
          observation: s.observation ?? "",
          identifier: s.identifier ?? `${s.type}-${s.startPage}-${s.endPage}`,
          fileId: "",
        })),
      };
    case "EXTRACT": {
      if ("value" in p) {
        if (!isObject(p.value))
          throw badRequest(`Invalid request: ${where}.value must be an object.`);
        const before =
          current && "value" in current && "metadata" in current
            ? (current as Schemas["JsonOutput"])
            : undefined;
        return { value: { ...before?.value, ...p.value }, metadata: before?.metadata ?? {} };
      }
      const fields: Schemas["FieldsArrayOutput"] = {
        ...(current && !("value" in current) && !("splits" in current) && !("confidence" in current)
          ? (current as Schemas["FieldsArrayOutput"])
          : {}),
      };
      for (const [key, field] of Object.entries(p)) {
        if (!isObject(field) || typeof field.id !== "string") {
          throw badRequest(
            `Invalid request: ${where} must be { value } or a map of fields { id, value } for this EXTRACT processor; ${key} is not a field.`,
          );
        }
        const f = field as Schemas["ProvidedFieldsArrayField"];
        fields[key] = {
          ...fields[key],
          id: f.id,
          type: f.type ?? fields[key]?.type ?? "string",
          value: f.value ?? null,
          confidence: f.confidence ?? 1,
          references: f.page
            ? [{ id: f.id, fieldName: key, page: f.page, boundingBoxes: [] }]
            : (fields[key]?.references ?? []),
        };
      }
      return fields;
    }
  }
}
