import type { OperationId } from "./router.js";

/** Every kind of fault the emulator can inject. */
export const FAULT_TYPES = [
  "status",
  "rate-limit",
  "reset",
  "latency",
  "lost-response",
  "slow-apply",
  "echo",
  "redirect",
  "hang",
  "slow-body",
  "cut-body",
] as const;

/** How an `echo` fault shows the request it repeats. */
export const ECHO_FORMATS = ["json", "text", "html", "base64", "header"] as const;

/**
 * A fault to inject into API requests. The first six are what a bad network and a busy API
 * do; the last five are what a misbehaving gateway or debugging proxy in front of it does.
 * - `status`: answer `status` (500 by default) without doing the work;
 * - `rate-limit`: answer 429 with `Retry-After: retryAfter` seconds (1 by default);
 * - `reset`: drop the connection before doing the work;
 * - `latency`: wait `ms` milliseconds, then serve normally; with `phase: "after-body"` the wait
 *   comes once the request body is read, and a client that leaves during it gets nothing done;
 * - `lost-response`: do the work and commit it, then drop the connection, so the
 *   client cannot know whether it happened;
 * - `slow-apply`: read the whole request, wait `ms`, then do the work and commit it whether
 *   or not the client is still there (a slow gateway, a long pause on the server): a client
 *   that gave up meanwhile cannot know it happened;
 * - `echo`: answer `status` (502 by default) with the request repeated back, its headers
 *   (credentials included) in the body as `format` says, after `padBytes` bytes of filler;
 * - `redirect`: answer `status` (302 by default) with `Location: location`;
 * - `hang`: read the request and never answer, until the client closes the connection;
 * - `slow-body`: do the work, then send the answer's body in 8 pieces `ms` apart;
 * - `cut-body`: do the work, send the headers and half the body, then drop the connection.
 */
export interface FaultRule {
  /** What happens to a matching request (see above). */
  type: (typeof FAULT_TYPES)[number];
  /** For `status`, `echo` and `redirect`: the HTTP status to answer. @default 500, 502, 302 */
  status?: number;
  /** For `rate-limit`: the `Retry-After` to send, in seconds. @default 1 */
  retryAfter?: number;
  /** For `latency`, `slow-apply` and `slow-body`: the wait, in milliseconds. @default 100 */
  ms?: number;
  /**
   * For `latency`: whether the wait comes before the request body is read, or after it (when
   * a client that leaves during the wait gets nothing done).
   * @default "before-body"
   */
  phase?: "before-body" | "after-body";
  /** For `redirect`: the `Location` sent, same-origin or not. @default "/processors" */
  location?: string;
  /**
   * For `echo`: `json` (an error body with `request.headers`), `text` (the request's head as
   * sent), `html` (an error page), `base64` (the head, base64-encoded) or `header` (an error
   * body, with the `authorization` header echoed in `x-request-id`).
   * @default "json"
   */
  format?: (typeof ECHO_FORMATS)[number];
  /** For `echo`: filler bytes before the echoed request, to push it deep into the body. @default 0 */
  padBytes?: number;
  /** Chance that a matching request gets the fault, drawn from the seeded generator. @default 1 */
  probability?: number;
  /** Apply to this many matching requests, then retire the rule. @default unlimited */
  count?: number;
  /** Only these operations (by operationId). @default every operation */
  operations?: OperationId[];
}

/**
 * Why a fault rule cannot be used, or `undefined` when it can: checked before a rule is
 * taken, so a bad one is a 400 (or a CLI error), never a failure while answering.
 */
export function faultRuleProblem(rule: unknown): string | undefined {
  if (typeof rule !== "object" || rule === null) return " must be an object";
  const r = rule as Record<string, unknown>;
  if (!FAULT_TYPES.includes(r.type as FaultRule["type"]))
    return `.type must be one of ${FAULT_TYPES.join(", ")}`;
  const integer = (value: unknown, min: number, max: number) =>
    value === undefined ||
    (Number.isInteger(value) && (value as number) >= min && (value as number) <= max);
  const [kind, lowest, highest] =
    r.type === "redirect"
      ? ["redirect ", 300, 399]
      : r.type === "echo"
        ? ["", 200, 599]
        : ["error ", 400, 599];
  if (!integer(r.status, lowest, highest))
    return `.status must be an HTTP ${kind}status (${lowest}-${highest})`;
  if (!integer(r.retryAfter, 0, 86_400)) return ".retryAfter must be whole seconds (0-86400)";
  if (!integer(r.ms, 0, 600_000)) return ".ms must be whole milliseconds (0-600000)";
  if (!integer(r.padBytes, 0, 16 * 1024 * 1024)) return ".padBytes must be 0 to 16 MiB";
  if (!integer(r.count, 0, Number.MAX_SAFE_INTEGER)) return ".count must be a whole number";
  if (r.location !== undefined && (typeof r.location !== "string" || /[\r\n]/.test(r.location)))
    return ".location must be a URL or a path";
  if (r.phase !== undefined && r.phase !== "before-body" && r.phase !== "after-body")
    return ".phase must be before-body or after-body";
  if (r.format !== undefined && !ECHO_FORMATS.includes(r.format as FaultRule["format"] & string))
    return `.format must be one of ${ECHO_FORMATS.join(", ")}`;
  if (
    r.probability !== undefined &&
    !(typeof r.probability === "number" && r.probability >= 0 && r.probability <= 1)
  )
    return ".probability must be between 0 and 1";
  if (
    r.operations !== undefined &&
    !(Array.isArray(r.operations) && r.operations.every((o) => typeof o === "string"))
  )
    return ".operations must be an array of operationIds";
  return undefined;
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
 * `status=503@0.05,reset@0.01,latency=200@0.1,lost-response#1,rate-limit=2@0.02`. The value
 * is the status of `status`, `echo` and `redirect`, the seconds of `rate-limit`, the
 * milliseconds of `latency`, `slow-apply` and `slow-body`. Throws an `Error` that names the part it
 * cannot read.
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
      if (!match || !type || !FAULT_TYPES.includes(type)) {
        throw new Error(
          `--faults: cannot read "${part}"; use type[=value][@probability][#count] with type one of ${FAULT_TYPES.join(", ")}`,
        );
      }
      const value = match[2] === undefined ? undefined : Number(match[2]);
      const rule: FaultRule = { type };
      if (value !== undefined) {
        if (type === "status" || type === "echo" || type === "redirect") rule.status = value;
        else if (type === "latency" || type === "slow-body" || type === "slow-apply")
          rule.ms = value;
        else if (type === "rate-limit") rule.retryAfter = value;
        else throw new Error(`--faults: cannot use "${part}": ${type} takes no value`);
      }
      if (match[3] !== undefined) rule.probability = Number(match[3]);
      if (match[4] !== undefined) rule.count = Number(match[4]);
      const problem = faultRuleProblem(rule);
      if (problem) throw new Error(`--faults: cannot use "${part}": ${type}${problem}`);
      return rule;
    });
  return seed === undefined ? { rules } : { seed, rules };
}
