import type { OperationId } from "./router.js";

/**
 * A fault to inject into API requests.
 * - `status`: answer `status` (500 by default) without doing the work;
 * - `rate-limit`: answer 429 with `Retry-After: retryAfter` seconds (1 by default);
 * - `reset`: drop the connection before doing the work;
 * - `latency`: wait `ms` milliseconds, then serve normally;
 * - `lost-response`: do the work and commit it, then drop the connection, so the
 *   client cannot know whether it happened.
 */
export interface FaultRule {
  /** What happens to a matching request (see above). */
  type: "status" | "rate-limit" | "reset" | "latency" | "lost-response";
  /** For `status`: the HTTP error status to answer, 400 to 599. @default 500 */
  status?: number;
  /** For `rate-limit`: the `Retry-After` to send, in seconds. @default 1 */
  retryAfter?: number;
  /** For `latency`: how long to wait before serving, in milliseconds. */
  ms?: number;
  /** Chance that a matching request gets the fault, drawn from the seeded generator. @default 1 */
  probability?: number;
  /** Apply to this many matching requests, then retire the rule. @default unlimited */
  count?: number;
  /** Only these operations (by operationId). @default every operation */
  operations?: OperationId[];
}

/**
 * Fault injection settings of the emulator (its `faults` option, the `--faults` CLI flag, or
 * `PUT /_emulator/faults` at run time): rules applied in order, drawn from a seeded
 * generator so a failing test can be replayed.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({
 *   faults: {
 *     seed: 42,
 *     rules: [
 *       { type: "rate-limit", retryAfter: 2, probability: 0.1 },
 *       { type: "lost-response", count: 1, operations: ["runWorkflow"] },
 *     ],
 *   },
 * });
 * ```
 */
export interface FaultOptions {
  /** Seed of the generator that draws probabilities, so a run can be replayed. @default 1 */
  seed?: number;
  /** The rules, checked in order; a request may match several. */
  rules: FaultRule[];
}

/**
 * A small, fast, seeded generator (mulberry32): the same seed gives the same draws. The
 * emulator draws its faults from it; tests can use it for their own jitter.
 *
 * @example
 * ```ts
 * const random = seededRandom(7);
 * random(); // the same number on every run
 * ```
 */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function createFaults(initial: FaultOptions) {
  let rules: FaultRule[] = [];
  let random = seededRandom(1);
  const set = (options: FaultOptions) => {
    rules = options.rules.map((rule) => ({ ...rule }));
    random = seededRandom(options.seed ?? 1);
  };
  set(initial);
  return {
    get rules(): readonly FaultRule[] {
      return rules;
    },
    set,
    /** The faults that apply to this request, in rule order (retiring spent counts). */
    draw(operationId: OperationId): FaultRule[] {
      const hits: FaultRule[] = [];
      for (const rule of rules) {
        if (rule.operations && !rule.operations.includes(operationId)) continue;
        if (rule.count !== undefined && rule.count <= 0) continue;
        if (random() >= (rule.probability ?? 1)) continue;
        if (rule.count !== undefined) rule.count -= 1;
        hits.push(rule);
      }
      rules = rules.filter((rule) => rule.count === undefined || rule.count > 0);
      return hits;
    },
  };
}

/**
 * Parses the CLI form: comma-separated `type[=value][@probability][#count]`, for example
 * `status=503@0.05,reset@0.01,latency=200@0.1,lost-response#1,rate-limit=2@0.02`.
 * Throws an `Error` that names the part it cannot read.
 *
 * @example
 * ```ts
 * const faults = parseFaults("status=503@0.05,latency=200@0.1,lost-response#1", 7);
 * // { seed: 7, rules: [{ type: "status", status: 503, probability: 0.05 }, ...] }
 * const emulator = await startEmulator({ faults });
 * ```
 */
export function parseFaults(text: string, seed?: number): FaultOptions {
  const rules = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((part): FaultRule => {
      const match = /^([a-z-]+)(?:=(\d+))?(?:@([\d.]+))?(?:#(\d+))?$/.exec(part);
      const type = match?.[1] as FaultRule["type"] | undefined;
      if (
        !match ||
        !type ||
        !["status", "rate-limit", "reset", "latency", "lost-response"].includes(type)
      ) {
        throw new Error(
          `--faults: cannot read "${part}"; use type[=value][@probability][#count] with type one of status, rate-limit, reset, latency, lost-response`,
        );
      }
      const invalid = (why: string) => new Error(`--faults: cannot use "${part}": ${why}`);
      const value = match[2] === undefined ? undefined : Number(match[2]);
      const rule: FaultRule = { type };
      if (value !== undefined) {
        if (type === "status") {
          if (value < 400 || value > 599)
            throw invalid("status must be an HTTP error status (400-599)");
          rule.status = value;
        } else if (type === "latency") rule.ms = value;
        else if (type === "rate-limit") rule.retryAfter = value;
        else throw invalid(`${type} takes no value`);
      }
      if (match[3] !== undefined) {
        const probability = Number(match[3]);
        if (!(probability >= 0 && probability <= 1))
          throw invalid("probability must be between 0 and 1");
        rule.probability = probability;
      }
      if (match[4] !== undefined) rule.count = Number(match[4]);
      return rule;
    });
  return seed === undefined ? { rules } : { seed, rules };
}
