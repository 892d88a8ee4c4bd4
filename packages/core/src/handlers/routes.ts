import { apiRequestParts, type OperationId } from "../generated/operations.js";

/** A path resolved against the spec's path templates. */
export interface ResolvedPath {
  /** The path template that matched, such as `/workflow_runs/{workflowRunId}`. */
  template: string;
  /** The values of its parameters, by name. */
  params: Record<string, string>;
  /** The operations on that template, whatever their method. */
  operations: { operationId: OperationId; method: string }[];
}

type Segment = { literal: string } | { param: string };

/** Path parameters are ids (`workflow_run_…`, `file_…`): letters, digits, `_` and `-`. */
const ID = /^[A-Za-z0-9_-]+$/;

/**
 * A resolver of request paths against every path template of the spec, as the API's router
 * resolves them: literal segments beat parameters, whatever the method, so
 * `/workflow_runs/batch` is the batch endpoint and never a run whose id is `batch`. Literal
 * segments match in any letter case (an upstream may route that way too); parameters take
 * ids only, so an encoded `/`, `..` or `%` never reaches the API.
 */
export function createPathResolver(): (path: string) => ResolvedPath | undefined {
  const templates = new Map<string, ResolvedPath["operations"]>();
  for (const [operationId, op] of Object.entries(apiRequestParts)) {
    const ops = templates.get(op.path) ?? [];
    ops.push({ operationId: operationId as OperationId, method: op.method });
    templates.set(op.path, ops);
  }
  const parsed = [...templates].map(([template, operations]) => ({
    template,
    operations,
    segments: template
      .split("/")
      .slice(1)
      .map(
        (s): Segment =>
          s.startsWith("{") ? { param: s.slice(1, -1) } : { literal: s.toLowerCase() },
      ),
  }));

  return (path) => {
    const parts = path
      .replace(/(.)\/$/, "$1")
      .split("/")
      .slice(1);
    let best: (typeof parsed)[number] | undefined;
    for (const candidate of parsed) {
      const { segments } = candidate;
      if (segments.length !== parts.length) continue;
      const fits = segments.every((segment, i) =>
        "literal" in segment
          ? segment.literal === parts[i]?.toLowerCase()
          : ID.test(parts[i] as string),
      );
      if (fits && (!best || moreSpecific(segments, best.segments))) best = candidate;
    }
    if (!best) return undefined;
    const params: Record<string, string> = {};
    best.segments.forEach((segment, i) => {
      if ("param" in segment) params[segment.param] = parts[i] as string;
    });
    return { template: best.template, params, operations: best.operations };
  };
}

/** Whether `a` beats `b`: at the first position where they differ in kind, a literal wins. */
function moreSpecific(a: Segment[], b: Segment[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const aLiteral = "literal" in (a[i] as Segment);
    if (aLiteral !== "literal" in (b[i] as Segment)) return aLiteral;
  }
  return false;
}

/** A path template with its parameters filled in. */
export function fillTemplate(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? "");
}
