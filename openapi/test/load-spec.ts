import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";

export const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

/** The parts of an OpenAPI operation the tests read. */
export interface Operation {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  deprecated?: boolean;
  "x-extend-retry-safe"?: unknown;
  parameters?: Array<{ $ref?: string; name?: string; in?: string }>;
  requestBody?: unknown;
  responses: Record<string, unknown>;
}
export type PathItem = Partial<Record<(typeof METHODS)[number], Operation>> & {
  parameters?: Array<{ $ref?: string; name?: string; in?: string }>;
};
export interface Spec {
  openapi: string;
  info: { version: string };
  tags: Array<{ name: string }>;
  paths: Record<string, PathItem>;
  webhooks: Record<string, PathItem>;
  components: Record<string, Record<string, unknown>> & {
    schemas: Record<string, { enum?: string[] } & Record<string, unknown>>;
  };
}

export const specPath = fileURLToPath(new URL("../extend.openapi.yaml", import.meta.url));
export const specText = readFileSync(specPath, "utf8");
/** The spec, parsed strictly: a duplicated key is an error, not a silent overwrite. */
export const spec = parse(specText, { uniqueKeys: true }) as Spec;

/** Every operation under `paths`, as "METHOD /path" with its object. */
export function apiOperations(): Array<[string, Operation]> {
  const out: Array<[string, Operation]> = [];
  for (const [route, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) out.push([`${method.toUpperCase()} ${route}`, op]);
    }
  }
  return out;
}

const SPEC_ID = "https://extendkit.test/extend.openapi.json";

/** An Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1) holding the spec's schemas. */
export function schemaValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat("binary", true);
  ajv.addKeyword("discriminator");
  ajv.addSchema({ $id: SPEC_ID, components: { schemas: spec.components.schemas } });
  return (name: string) => {
    const validate = ajv.getSchema(`${SPEC_ID}#/components/schemas/${name}`);
    if (!validate) throw new Error(`no schema named ${name}`);
    return validate;
  };
}

/** The structural and reference rules of Redocly's OpenAPI 3.1 validator, as errors. */
const STRUCTURE_RULES = {
  struct: "error",
  "no-unresolved-refs": "error",
  "no-identical-paths": "error",
  "no-path-trailing-slash": "error",
  "operation-operationId-unique": "error",
  "operation-parameters-unique": "error",
  "path-parameters-defined": "error",
  "path-declaration-must-exist": "error",
  "no-enum-type-mismatch": "error",
  "no-example-value-and-externalValue": "error",
  "no-schema-type-mismatch": "error",
  "no-required-schema-properties-undefined": "error",
  "spec-components-invalid-map-name": "error",
} as const;

/** Validates an OpenAPI document given as YAML text; answers its error messages. */
export async function structuralErrors(text: string): Promise<string[]> {
  const config = await createConfig({ rules: STRUCTURE_RULES });
  const problems = await lintFromString({ source: text, absoluteRef: specPath, config });
  return problems
    .filter((p) => p.severity === "error")
    .map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? "?"}`);
}
