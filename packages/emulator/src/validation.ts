import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { badRequest } from "./errors.js";
import apiSchema from "./generated/api-schema.json" with { type: "json" };
import type { OperationId } from "./router.js";

const SPEC_ID = "https://extendkit.local/extend.openapi.json";

/**
 * Rewrites local `#/components/...` references to the registered spec document, and each
 * tagged `oneOf` (one with a `discriminator` mapping) into the equivalent "the tag is one
 * of these, and the branch it names applies": a wrong tag is then reported as such, and a
 * right one gets the errors of its own branch only, not those of every branch.
 */
function absolute(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(absolute);
  if (!schema || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === "$ref" && typeof value === "string" ? SPEC_ID + value : absolute(value);
  }
  const tagged = out.discriminator as
    | { propertyName?: string; mapping?: Record<string, string> }
    | undefined;
  if (Array.isArray(out.oneOf) && tagged?.propertyName && tagged.mapping) {
    const tag = tagged.propertyName;
    const branches = Object.entries(tagged.mapping);
    delete out.oneOf;
    out.type = "object";
    out.required = [tag];
    out.properties = { [tag]: { enum: branches.map(([value]) => value) } };
    out.allOf = branches.map(([value, ref]) => ({
      if: { properties: { [tag]: { const: value } } },
      // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword
      then: { $ref: SPEC_ID + ref },
    }));
  }
  return out;
}

function createAjv(coerceTypes: boolean) {
  // verbose: a failed anyOf/oneOf carries its branches and value, for `explain`.
  const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes, verbose: true });
  addFormats.default(ajv);
  ajv.addFormat("binary", true);
  ajv.addKeyword("discriminator");
  ajv.addSchema({ $id: SPEC_ID, components: absolute(apiSchema.components) });
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
      if (validate && !validate(query)) throw badRequest(explain(params, "query", validate.errors));
    },
    /** Checks a JSON body; throws a 400 ApiError when invalid. */
    body(operationId: OperationId, body: unknown) {
      const v = validators(operationId);
      if (body === undefined) {
        if (v.bodyRequired) throw badRequest("The request body is required and must be JSON.");
        return;
      }
      if (v.body && !v.body(body)) throw badRequest(explain(bodies, "body", v.body.errors));
    },
    /** Whether the operation takes a JSON body at all. */
    takesJson(operationId: OperationId) {
      return validators(operationId).body !== undefined;
    },
  };
}

const branchValidators = new WeakMap<object, ValidateFunction>();

/**
 * Like {@link describe}, but a value that fits none of a union's shapes (an untagged
 * `anyOf`/`oneOf`) is explained by the shape it came closest to: the branch whose errors
 * lie deepest in the value, then the one with the fewest. Otherwise every branch's errors
 * compete and the sentence may name a field that is fine in the shape the caller meant.
 */
export function explain(
  ajv: Ajv2020,
  where: string,
  errors: ErrorObject[] | null | undefined,
): string {
  const list = errors ?? [];
  const union = list
    .filter((e) => (e.keyword === "anyOf" || e.keyword === "oneOf") && Array.isArray(e.schema))
    .sort((a, b) => depthOf(a.instancePath) - depthOf(b.instancePath))[0];
  // Only when the union is the whole problem: errors elsewhere are reported as they are.
  if (!union || list.some((e) => !e.instancePath.startsWith(union.instancePath)))
    return describe(where, list);
  const attempts = (union.schema as object[]).map((branch) => {
    let validate = branchValidators.get(branch);
    if (!validate) {
      validate = ajv.compile(branch);
      branchValidators.set(branch, validate);
    }
    validate(union.data);
    const found = validate.errors ?? [];
    return { errors: found, depth: Math.max(0, ...found.map((e) => depthOf(e.instancePath))) };
  });
  // A branch that passes (oneOf matched twice), or shapes that differ only in what is
  // required ("one of fileId and fileUrl"), are described as a whole.
  if (attempts.some((a) => a.errors.length === 0) || attempts.every((a) => a.depth === 0))
    return describe(where, list);
  const best = [...attempts].sort(
    (a, b) => b.depth - a.depth || a.errors.length - b.errors.length,
  )[0] as (typeof attempts)[number];
  return explain(ajv, `${where}${fieldPath(union.instancePath)}`, best.errors);
}

/** How many keys and indexes deep an instance path points: `/a/0/b` is 3. */
const depthOf = (instancePath: string) => (instancePath ? instancePath.split("/").length - 1 : 0);

/** `/a/0/b` as `.a[0].b`. */
function fieldPath(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, "/")}`))
    .join("");
}

/** Turns Ajv's errors into one sentence naming the field and the problem. */
export function describe(where: string, errors: ErrorObject[] | null | undefined): string {
  const list = errors ?? [];
  const field = (e: ErrorObject) => `${where}${fieldPath(e.instancePath)}`;
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
    (a, b) => depthOf(b.instancePath) - depthOf(a.instancePath),
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
    if (!validate(value)) throw badRequest(explain(shared as Ajv2020, where, validate.errors));
  };
}
