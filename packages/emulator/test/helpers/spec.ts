import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";

// The spec itself (not the generated copy): responses are checked against the source of truth.
const specPath = fileURLToPath(new URL("../../../../openapi/extend.openapi.yaml", import.meta.url));
const spec = parse(readFileSync(specPath, "utf8")) as {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
      }
    >
  >;
  components: {
    schemas: Record<string, unknown>;
    responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  };
};

const SPEC_ID = "https://extendkit.test/spec.json";
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addFormat("binary", true);
ajv.addKeyword("discriminator");
ajv.addSchema({ $id: SPEC_ID, components: { schemas: spec.components.schemas } });

const absolute = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(absolute);
  if (!schema || typeof schema !== "object") return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      k === "$ref" && typeof v === "string" ? SPEC_ID + v : absolute(v),
    ]),
  );
};

const routes = Object.entries(spec.paths).map(([template, item]) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`),
  literal: template.split("/").filter((s) => s && !s.startsWith("{")).length,
  item,
}));
routes.sort((a, b) => b.literal - a.literal);

const cache = new Map<string, ValidateFunction>();

/** The operation a request hit, by method and path (as the emulator routes it). */
export function operationFor(method: string, pathname: string) {
  for (const route of routes) {
    const op = route.item[method.toLowerCase()];
    if (route.pattern.test(pathname) && op) return { template: route.template, op };
  }
  return undefined;
}

/**
 * Checks an answer of the emulated API against the spec: the status must be one the
 * operation declares, and the JSON body must match that response's schema. Answers a
 * list of problems (empty when the answer conforms).
 */
export function responseProblems(
  method: string,
  pathname: string,
  status: number,
  body: unknown,
): string[] {
  const found = operationFor(method, pathname);
  if (!found) return [`${method} ${pathname} is not an operation of the spec`];
  const declared = found.op.responses[String(status)];
  if (!declared)
    return [`${found.op.operationId} answered ${status}, which the spec does not declare for it`];
  const response = declared.$ref
    ? spec.components.responses[declared.$ref.split("/").pop() as string]
    : declared;
  const schema = response?.content?.["application/json"]?.schema;
  if (!schema) return [];
  const key = `${found.op.operationId} ${status}`;
  let validate = cache.get(key);
  if (!validate) {
    validate = ajv.compile(absolute(schema) as object);
    cache.set(key, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? [])
    .slice(0, 8)
    .map((e) => `${key}: ${e.instancePath || "(root)"} ${e.message} ${JSON.stringify(e.params)}`);
}

const schemaCache = new WeakMap<object, ValidateFunction>();

/**
 * Checks a value against a schema that may reference the spec's `#/components/schemas/...`
 * (such as a request body's schema), with the spec's own definitions. Answers the problems.
 */
export function schemaProblems(schema: object, value: unknown): string[] {
  let validate = schemaCache.get(schema);
  if (!validate) {
    validate = ajv.compile(absolute(schema) as object);
    schemaCache.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.message}`);
}
