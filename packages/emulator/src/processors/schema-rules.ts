/**
 * The rules an extraction config's JSON Schema must follow (brief §7). Answers the first
 * violation as a sentence naming the property, or undefined when the schema is valid.
 */
export function extractionSchemaProblem(schema: unknown): string | undefined {
  const root = schema as Record<string, unknown>;
  if (root?.type !== "object" || typeof root.properties !== "object" || root.properties === null) {
    return "the root must be an object with `properties`";
  }
  return objectProblem(root, "schema", 0);
}

const PRIMITIVES = new Set(["string", "number", "integer", "boolean"]);
const KEY = /^[A-Za-z0-9_-]+$/;
const MAX_DEPTH = 5;

function typesOf(node: Record<string, unknown>): string[] {
  const type = node.type;
  return Array.isArray(type) ? type.map(String) : typeof type === "string" ? [type] : [];
}

function objectProblem(
  node: Record<string, unknown>,
  path: string,
  depth: number,
): string | undefined {
  if (depth > MAX_DEPTH) return `${path} is nested more than ${MAX_DEPTH} levels deep`;
  for (const [key, value] of Object.entries(node.properties as Record<string, unknown>)) {
    const at = `${path}.properties.${key}`;
    if (!KEY.test(key)) return `${at}: property keys may hold only letters, digits, "_" and "-"`;
    const problem = fieldProblem(value as Record<string, unknown>, at, depth);
    if (problem) return problem;
  }
  return undefined;
}

function fieldProblem(
  node: Record<string, unknown>,
  path: string,
  depth: number,
): string | undefined {
  if (!node || typeof node !== "object") return `${path} must be a schema object`;
  if (Array.isArray(node.enum)) {
    if (!node.enum.every((v) => v === null || typeof v === "string"))
      return `${path}: enum values must be strings`;
    if (!node.enum.includes(null)) return `${path}: an enum must include null`;
    return undefined;
  }
  const types = typesOf(node);
  const kind = types.filter((t) => t !== "null");
  if (kind.length !== 1 || !["object", "array", ...PRIMITIVES].includes(kind[0] as string)) {
    return `${path}: type must be one of string, number, integer, boolean, object or array (as ["<type>", "null"] for primitives)`;
  }
  const [type] = kind as [string];
  if (PRIMITIVES.has(type)) {
    return types.includes("null")
      ? undefined
      : `${path}: primitive fields must be nullable, e.g. "type": ["${type}", "null"]`;
  }
  if (type === "object") {
    if (node["extend:type"] === "currency" || node["extend:type"] === "signature") return undefined;
    if (typeof node.properties !== "object" || node.properties === null)
      return `${path}: an object needs properties`;
    return objectProblem(node, path, depth + 1);
  }
  const items = node.items as Record<string, unknown> | undefined;
  if (!items || typeof items !== "object") return `${path}: an array needs items`;
  return fieldProblem(items, `${path}.items`, depth);
}
