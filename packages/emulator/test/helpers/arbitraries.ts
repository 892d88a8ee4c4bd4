/**
 * fast-check arbitraries from the spec's JSON Schemas, for the emulator's fuzz test: values
 * a schema accepts, and the places in such a value where one change makes it invalid.
 *
 * The generator covers the keywords the spec uses (`$ref`, `allOf`, `anyOf`, `oneOf`,
 * `const`, `enum`, `type`, `properties`, `required`, `additionalProperties`, `items`,
 * `minItems`/`maxItems`, `minLength`, `minimum`/`maximum`/`exclusiveMinimum`, `format`). A
 * generated value is not guaranteed valid (an `anyOf` branch may be chosen that another
 * keyword rejects); the fuzz test checks each one locally before deciding what to expect.
 */
import fc from "fast-check";

export type Schema = Record<string, unknown>;

export interface GeneratorContext {
  /** The spec's `components.schemas`. */
  schemas: Record<string, Schema>;
  /** Strings for a property or parameter of this name (ids that exist, URLs...), or undefined for any string. */
  strings(name: string | undefined, format: string | undefined): fc.Arbitrary<string> | undefined;
}

/** Past this depth, optional properties are left out and arrays stay empty when they may. */
const DEEP = 5;

export function resolve(schema: Schema, ctx: GeneratorContext): Schema {
  let current = schema;
  for (let i = 0; i < 20 && typeof current.$ref === "string"; i++) {
    const name = (current.$ref as string).split("/").pop() as string;
    current = ctx.schemas[name] as Schema;
  }
  return current;
}

const merge = (parts: unknown[]) =>
  parts.every((p) => p && typeof p === "object" && !Array.isArray(p))
    ? Object.assign({}, ...parts)
    : parts[parts.length - 1];

/** Values the schema accepts (mostly: see the module's note). */
export function arbitraryFor(
  input: Schema,
  ctx: GeneratorContext,
  name?: string,
  depth = 0,
): fc.Arbitrary<unknown> {
  const schema = resolve(input, ctx);
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  if (Array.isArray(schema.allOf)) {
    const parts = (schema.allOf as Schema[]).map((part) => arbitraryFor(part, ctx, name, depth));
    const own: Schema = { ...schema, allOf: undefined };
    if (own.properties || own.type) parts.push(arbitraryFor(own, ctx, name, depth));
    return fc.tuple(...parts).map(merge);
  }
  const branches = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (Array.isArray(branches)) {
    return fc.oneof(...branches.map((branch) => arbitraryFor(branch, ctx, name, depth)));
  }
  const type = Array.isArray(schema.type)
    ? (schema.type as string[])
    : schema.type
      ? [schema.type as string]
      : schema.properties
        ? ["object"]
        : [];
  if (type.length > 1)
    return fc.oneof(...type.map((t) => arbitraryFor({ ...schema, type: t }, ctx, name, depth)));
  switch (type[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer": {
      const min =
        (schema.minimum as number | undefined) ??
        ((schema.exclusiveMinimum as number | undefined) ?? -11) + 1;
      const max = Math.min((schema.maximum as number | undefined) ?? min + 1000, min + 1000);
      return fc.integer({ min, max });
    }
    case "number": {
      const min =
        (schema.minimum as number | undefined) ??
        ((schema.exclusiveMinimum as number | undefined) ?? -1000) + 0.001;
      const max = (schema.maximum as number | undefined) ?? min + 10_000;
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case "string": {
      const special = ctx.strings(name, schema.format as string | undefined);
      if (special) return special;
      if (schema.format === "date-time")
        return fc
          .date({ min: new Date("2000-01-01"), max: new Date("2030-01-01"), noInvalidDate: true })
          .map((d) => d.toISOString());
      const minLength = (schema.minLength as number | undefined) ?? 0;
      return fc.oneof(
        fc.string({ minLength, maxLength: minLength + 24 }),
        fc.string({ minLength, maxLength: minLength + 12, unit: "grapheme" }),
      );
    }
    case "array": {
      const minLength = (schema.minItems as number | undefined) ?? 0;
      const cap = depth >= DEEP ? minLength : Math.max(minLength, 3);
      const maxLength = Math.min((schema.maxItems as number | undefined) ?? cap, cap);
      const items = (schema.items as Schema | undefined) ?? {};
      return fc.array(arbitraryFor(items, ctx, name, depth + 1), { minLength, maxLength });
    }
    case "object": {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required as string[] | undefined) ?? []);
      const keys = Object.keys(properties).filter((k) => required.has(k) || depth < DEEP);
      const record = fc.record(
        Object.fromEntries(
          keys.map((k) => [k, arbitraryFor(properties[k] as Schema, ctx, k, depth + 1)]),
        ),
        { requiredKeys: keys.filter((k) => required.has(k)) },
      );
      const extra = schema.additionalProperties;
      if (!extra || depth >= DEEP || keys.length > 0) return record;
      // A map (metadata, secrets, a form's properties): a few keys of the declared kind.
      const values =
        extra === true
          ? fc.jsonValue({ maxDepth: 2 })
          : arbitraryFor(extra as Schema, ctx, undefined, depth + 1);
      return fc
        .tuple(
          record,
          fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), values, { maxKeys: 3 }),
        )
        .map(([own, more]) => ({ ...more, ...own }));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** One change that makes a valid value invalid, and the name an error about it must mention. */
export interface Mutation {
  /** Where, as keys and indexes from the root. */
  path: Array<string | number>;
  /** `drop` removes a required property; `set` replaces the value. */
  kind: "drop" | "set";
  value?: unknown;
  /** The property an error message must name. */
  names: string;
}

/** A value of the wrong JSON type for each type the schema allows. */
function wrongFor(types: string[]): unknown {
  if (!types.includes("string")) return "not-a-valid-value";
  if (!types.includes("integer") && !types.includes("number")) return 12345;
  if (!types.includes("boolean")) return true;
  return { unexpected: "object" };
}

/**
 * Places where a value generated from `schema` can be made invalid by one change. Inside
 * `anyOf`/`oneOf` only type changes are listed (dropping a property may just pick another
 * branch); the fuzz test still checks each mutated value locally.
 */
export function mutationsOf(
  value: unknown,
  input: Schema,
  ctx: GeneratorContext,
  path: Array<string | number> = [],
  inBranch = false,
  out: Mutation[] = [],
): Mutation[] {
  const schema = resolve(input, ctx);
  const name = [...path].reverse().find((p): p is string => typeof p === "string") ?? "body";
  if (Array.isArray(schema.allOf))
    for (const part of schema.allOf as Schema[]) mutationsOf(value, part, ctx, path, inBranch, out);
  const branches = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (Array.isArray(branches))
    for (const branch of branches) mutationsOf(value, branch, ctx, path, true, out);
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === "string") && !inBranch)
    out.push({ path, kind: "set", value: "NOT_ONE_OF_THEM", names: name });
  const types = Array.isArray(schema.type)
    ? (schema.type as string[])
    : typeof schema.type === "string"
      ? [schema.type]
      : [];
  if (types.length && path.length)
    out.push({ path, kind: "set", value: wrongFor(types), names: name });
  if (value && typeof value === "object" && !Array.isArray(value) && schema.properties) {
    const record = value as Record<string, unknown>;
    const properties = schema.properties as Record<string, Schema>;
    for (const [key, child] of Object.entries(properties)) {
      if (!(key in record)) continue;
      mutationsOf(record[key], child, ctx, [...path, key], inBranch, out);
      if (!inBranch && (schema.required as string[] | undefined)?.includes(key))
        out.push({ path: [...path, key], kind: "drop", names: key });
    }
  }
  if (Array.isArray(value) && value.length > 0 && schema.items)
    mutationsOf(value[0], schema.items as Schema, ctx, [...path, 0], inBranch, out);
  return out;
}

/** A deep copy of `value` with the mutation applied. */
export function applyMutation(value: unknown, mutation: Mutation): unknown {
  const copy = structuredClone(value);
  if (mutation.path.length === 0) return mutation.value;
  let parent = copy as Record<string | number, unknown>;
  for (const key of mutation.path.slice(0, -1))
    parent = parent[key] as Record<string | number, unknown>;
  const last = mutation.path[mutation.path.length - 1] as string | number;
  if (mutation.kind === "drop") delete parent[last];
  else parent[last] = mutation.value;
  return copy;
}
