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
  params: Record<string, string>;
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
    /** The operation for this method and path, `"method"` if only the method is wrong, or undefined. */
    match(method: string, pathname: string): Match | "method" | undefined {
      let pathMatched = false;
      for (const route of routes) {
        const found = route.pattern.exec(pathname);
        if (!found) continue;
        if (route.method !== method) {
          pathMatched = true;
          continue;
        }
        const params: Record<string, string> = {};
        route.names.forEach((name, i) => {
          params[name] = decodeURIComponent(found[i + 1] as string);
        });
        return { operationId: route.operationId, params };
      }
      return pathMatched ? "method" : undefined;
    },
  };
}
