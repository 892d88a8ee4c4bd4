import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { badRequest } from "./errors.js";
import apiSchema from "./generated/api-schema.json" with { type: "json" };
import type { OperationId } from "./router.js";

const SPEC_ID = "https://extendkit.local/extend.openapi.json";

/** Rewrites local `#/components/...` references to the registered spec document. */
function absolute(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(absolute);
  if (!schema || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === "$ref" && typeof value === "string" ? SPEC_ID + value : absolute(value);
  }
  return out;
}

function createAjv(coerceTypes: boolean) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes });
  addFormats.default(ajv);
  ajv.addFormat("binary", true);
  ajv.addKeyword("discriminator");
  ajv.addSchema({ $id: SPEC_ID, components: apiSchema.components });
  return ajv;
}

interface OperationValidators {
  query?: ValidateFunction;
  path?: ValidateFunction;
  body?: ValidateFunction;
  bodyRequired: boolean;
}

/**
 * Validates requests against the spec's own schemas (compiled once per operation, lazily).
 * A failure is a 400 whose message names the field and the problem.
 */
export function createRequestValidator() {
  const bodies = createAjv(false);
  // Query and path values arrive as strings; the spec types them (integer, boolean...).
  const params = createAjv(true);
  const cache = new Map<OperationId, OperationValidators>();

  function compile(operationId: OperationId): OperationValidators {
    const op = apiSchema.operations[operationId];
    const group = (where: "query" | "path") => {
      const list = op.parameters.filter((p) => p.in === where);
      if (list.length === 0) return undefined;
      return params.compile({
        type: "object",
        properties: Object.fromEntries(list.map((p) => [p.name, absolute(p.schema)])),
        required: list.filter((p) => p.required).map((p) => p.name),
      });
    };
    const body = "body" in op ? op.body : undefined;
    return {
      query: group("query"),
      path: group("path"),
      body:
        body && body.contentType === "application/json"
          ? bodies.compile(absolute(body.schema) as object)
          : undefined,
      bodyRequired: body?.required === true,
    };
  }

  function validators(operationId: OperationId) {
    let found = cache.get(operationId);
    if (!found) {
      found = compile(operationId);
      cache.set(operationId, found);
    }
    return found;
  }

  return {
    /** Checks and coerces the query (in place); throws a 400 ApiError when invalid. */
    query(operationId: OperationId, query: Record<string, unknown>) {
      const validate = validators(operationId).query;
      if (validate && !validate(query)) throw badRequest(describe("query", validate.errors));
    },
    /** Checks a JSON body; throws a 400 ApiError when invalid. */
    body(operationId: OperationId, body: unknown) {
      const v = validators(operationId);
      if (body === undefined) {
        if (v.bodyRequired) throw badRequest("The request body is required and must be JSON.");
        return;
      }
      if (v.body && !v.body(body)) throw badRequest(describe("body", v.body.errors));
    },
    /** Whether the operation takes a JSON body at all. */
    takesJson(operationId: OperationId) {
      return validators(operationId).body !== undefined;
    },
  };
}

/** Turns Ajv's errors into one sentence naming the field and the problem. */
export function describe(where: string, errors: ErrorObject[] | null | undefined): string {
  const list = errors ?? [];
  const field = (e: ErrorObject) => {
    const path = e.instancePath
      .split("/")
      .slice(1)
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, "/")}`))
      .join("");
    return `${where}${path}`;
  };
  // "One of A and B is required" surfaces as an anyOf whose branches each miss a property.
  const anyOf = list.find((e) => e.keyword === "anyOf");
  if (anyOf) {
    const missing = list
      .filter((e) => e.keyword === "required" && e.instancePath === anyOf.instancePath)
      .map((e) => (e.params as { missingProperty: string }).missingProperty);
    const others = list.filter(
      (e) =>
        !["anyOf", "required", "oneOf"].includes(e.keyword) ||
        e.instancePath !== anyOf.instancePath,
    );
    if (missing.length > 1 && others.length === 0) {
      return `Invalid request: ${field(anyOf)} must include one of ${[...new Set(missing)].map((m) => `\`${m}\``).join(" or ")}.`;
    }
  }
  // Prefer the most specific error: the deepest path, then a concrete keyword over a combinator.
  const concrete = list.filter((e) => !["anyOf", "oneOf", "if"].includes(e.keyword));
  const best = [...(concrete.length ? concrete : list)].sort(
    (a, b) => b.instancePath.length - a.instancePath.length,
  )[0];
  if (!best) return `Invalid request: ${where} is invalid.`;
  if (best.keyword === "required") {
    const prop = (best.params as { missingProperty: string }).missingProperty;
    return `Invalid request: ${field(best)}.${prop} is required.`;
  }
  if (best.keyword === "enum") {
    const allowed = (best.params as { allowedValues: unknown[] }).allowedValues;
    return `Invalid request: ${field(best)} must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}.`;
  }
  if (best.keyword === "const") {
    return `Invalid request: ${field(best)} must be ${JSON.stringify((best.params as { allowedValue: unknown }).allowedValue)}.`;
  }
  return `Invalid request: ${field(best)} ${best.message ?? "is invalid"}.`;
}

let shared: Ajv2020 | undefined;

/**
 * A checker for one JSON Schema, which may reference the spec's `#/components/...`. It
 * throws a 400 `ApiError` naming the field and the problem, as the public API's checks do.
 * Compiled on first use.
 */
export function schemaChecker(schema: object): (value: unknown, where?: string) => void {
  let validate: ValidateFunction | undefined;
  return (value, where = "body") => {
    shared ??= createAjv(false);
    validate ??= shared.compile(absolute(schema) as object);
    if (!validate(value)) throw badRequest(describe(where, validate.errors));
  };
}
