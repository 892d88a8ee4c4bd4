import type { Schemas } from "@extendkit/core";
import { badRequest } from "./errors.js";

type Provided = Schemas["ProvidedProcessorOutput"];
type Output = Schemas["ProcessorOutput"];
type Config = Schemas["ProcessorConfig"];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks an output supplied by the caller (a review correction, a `files[].outputs`
 * override or an evaluation set item's expected output) against the processor's config:
 * its shape must be the processor type's, and the classes, splits and fields it names
 * must be the config's. A mismatch is a 400 naming what is wrong.
 */
export function checkProvidedOutput(provided: Provided, config: Config, where = "body"): void {
  const p = provided as Record<string, unknown>;
  switch (config.type) {
    case "CLASSIFY": {
      if (typeof p.id !== "string" || typeof p.type !== "string") {
        throw badRequest(
          `Invalid request: ${where} must be a classification output { id, type, confidence? } for this CLASSIFY processor.`,
        );
      }
      const known = config.classifications.find((c) => c.id === p.id);
      if (!known) {
        throw badRequest(
          `Invalid request: ${where}.id "${p.id}" is not one of the processor's classifications (${config.classifications.map((c) => c.id).join(", ")}).`,
        );
      }
      if (known.type !== p.type)
        throw badRequest(
          `Invalid request: ${where}.type must be "${known.type}" for classification "${known.id}".`,
        );
      return;
    }
    case "SPLITTER": {
      if (!Array.isArray(p.splits)) {
        throw badRequest(
          `Invalid request: ${where} must be a splitter output { splits } for this SPLITTER processor.`,
        );
      }
      const ids = new Set(config.splitClassifications.map((c) => c.id));
      (p.splits as Schemas["ProvidedSplit"][]).forEach((split, i) => {
        if (!ids.has(split.classificationId)) {
          throw badRequest(
            `Invalid request: ${where}.splits[${i}].classificationId "${split.classificationId}" is not one of the processor's split classifications (${[...ids].join(", ")}).`,
          );
        }
        if (split.endPage < split.startPage)
          throw badRequest(`Invalid request: ${where}.splits[${i}] ends before it starts.`);
      });
      return;
    }
    case "EXTRACT": {
      if ("value" in p) {
        if (!isObject(p.value))
          throw badRequest(`Invalid request: ${where}.value must be an object.`);
        const properties = (config.schema as { properties?: Record<string, unknown> } | undefined)
          ?.properties;
        if (!properties)
          throw badRequest(
            `Invalid request: ${where} is a JSON output but the processor uses a fields config; give { <fieldId>: { id, value } }.`,
          );
        for (const key of Object.keys(p.value)) {
          if (!(key in properties))
            throw badRequest(
              `Invalid request: ${where}.value.${key} is not a property of the processor's schema.`,
            );
        }
        return;
      }
      const fieldIds = new Set((config.fields ?? []).map((f) => f.id));
      if (!config.fields)
        throw badRequest(
          `Invalid request: ${where} must be { value } for this processor's JSON Schema config.`,
        );
      for (const [key, field] of Object.entries(p)) {
        if (!isObject(field) || typeof field.id !== "string") {
          throw badRequest(`Invalid request: ${where}.${key} must be a field { id, value }.`);
        }
        if (!fieldIds.has(field.id))
          throw badRequest(
            `Invalid request: ${where}.${key}.id "${field.id}" is not a field of the processor's config.`,
          );
      }
      return;
    }
  }
}

/**
 * Turns a caller-supplied output into the complete output of the processor (checked
 * against its config first). Extraction corrections may name only some fields: they are
 * merged into `current`.
 */
export function completeOutput(
  provided: Provided,
  config: Config,
  current?: Output | null,
  where = "body",
): Output {
  checkProvidedOutput(provided, config, where);
  const p = provided as Record<string, unknown>;
  switch (config.type) {
    case "CLASSIFY":
      return {
        id: p.id as string,
        type: p.type as string,
        confidence: typeof p.confidence === "number" ? p.confidence : 1,
        insights: [],
      };
    case "SPLITTER":
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
        const before =
          current && "value" in current && "metadata" in current
            ? (current as Schemas["JsonOutput"])
            : undefined;
        return {
          value: { ...before?.value, ...(p.value as Record<string, unknown>) },
          metadata: before?.metadata ?? {},
        };
      }
      const previous =
        current && !("value" in current) && !("splits" in current) && !("confidence" in current)
          ? (current as Schemas["FieldsArrayOutput"])
          : {};
      const fields: Schemas["FieldsArrayOutput"] = { ...previous };
      for (const [key, field] of Object.entries(p)) {
        const f = field as Schemas["ProvidedFieldsArrayField"];
        fields[key] = {
          ...fields[key],
          id: f.id,
          type:
            f.type ??
            fields[key]?.type ??
            config.fields?.find((c) => c.id === f.id)?.type ??
            "string",
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
