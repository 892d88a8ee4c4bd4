import apiSchema from "./generated/api-schema.json" with { type: "json" };

export type OperationId = keyof typeof apiSchema.operations;

interface Route {
  operationId: OperationId;
  method: string;
  pattern: RegExp;
  names: string[];
  /** Literal segments win over parameters: /workflow_runs/batch before /workflow_runs/{id}. */
  literalSegments: number;
}

export interface Match {
  operationId: OperationId;
  /**
   * Path parameters as they appeared in the URL, still percent-encoded: they are decoded
   * only once the request is authorized (see {@link decodeParams}), so a malformed escape
   * never costs more than a 400.
   */
  rawParams: Record<string, string>;
}

/** The methods a path allows, for a 405's `Allow` header (a `GET` path allows `HEAD` too). */
export interface WrongMethod {
  allow: string[];
}

/** Matches a method and path against the spec's path templates. */
export function createRouter() {
  const routes: Route[] = Object.entries(apiSchema.operations).map(([operationId, op]) => {
    const names: string[] = [];
    const source = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    return {
      operationId: operationId as OperationId,
      method: op.method,
      pattern: new RegExp(`^${source}/?$`),
      names,
      literalSegments: op.path.split("/").filter((s) => s && !s.startsWith("{")).length,
    };
  });
  routes.sort((a, b) => b.literalSegments - a.literalSegments);

  return {
    /**
     * The operation for this method and path (`HEAD` is served as `GET`), the methods the
     * path allows if only the method is wrong, or undefined when no operation has the path.
     */
    match(method: string, pathname: string): Match | WrongMethod | undefined {
      const wanted = method === "HEAD" ? "GET" : method;
      const allow = new Set<string>();
      for (const route of routes) {
        const found = route.pattern.exec(pathname);
        if (!found) continue;
        if (route.method !== wanted) {
          allow.add(route.method);
          if (route.method === "GET") allow.add("HEAD");
          continue;
        }
        const rawParams: Record<string, string> = {};
        route.names.forEach((name, i) => {
          rawParams[name] = found[i + 1] as string;
        });
        return { operationId: route.operationId, rawParams };
      }
      return allow.size ? { allow: [...allow].sort() } : undefined;
    },
  };
}

/**
 * Decodes path parameters; answers the name of the first one whose percent-escapes are
 * malformed (such as `%E0%A4%A` or a lone `%`) instead of throwing.
 */
export function decodeParams(
  raw: Record<string, string>,
): { params: Record<string, string> } | { malformed: string } {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const decoded = safeDecode(value);
    if (decoded === undefined) return { malformed: name };
    params[name] = decoded;
  }
  return { params };
}

/** `decodeURIComponent`, or undefined for a malformed escape. */
export function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
