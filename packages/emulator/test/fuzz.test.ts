/**
 * A fuzz test of the emulator from the spec: for every operation, requests generated from
 * its schemas (valid bodies, parameters and headers, and the same with one thing made
 * invalid) are sent over HTTP to a live emulator, and every answer must hold these
 * properties:
 *
 * - never a 5xx, never a dropped or hung connection;
 * - a status the spec declares for the operation, with a body valid against its schema;
 * - invalid input is a 4xx whose message names what is wrong (the field, the parameter,
 *   the header).
 *
 * Ids in requests are drawn from what exists (the seed, and every id an answer has shown
 * so far) as well as from arbitrary strings, so requests reach the handlers, not only the
 * 404s. Seeded and bounded: `FUZZ_SEED` and `FUZZ_RUNS` (cases per operation) change the
 * run; `pnpm --filter @extendkit/emulator fuzz` is the long run.
 */
import fc from "fast-check";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import apiSchema from "../src/generated/api-schema.json" with { type: "json" };
import {
  applyMutation,
  arbitraryFor,
  type GeneratorContext,
  type Mutation,
  mutationsOf,
  type Schema,
} from "./helpers/arbitraries.js";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";
import { responseProblems, schemaProblems } from "./helpers/spec.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20_250_421);
const RUNS = Number(process.env.FUZZ_RUNS ?? 24);
const TIMEOUT_MS = 30_000;

/** Bodies that are not a JSON object: broken, another JSON type, bytes that are not UTF-8, none. */
const RAW_BODIES = [
  '{"unterminated": ',
  "[]",
  "null",
  '"a string"',
  "12",
  "\udcff\ufffe{}",
  "{}}",
  "",
  " \n ",
];

/** Nothing listens on the discard port: a URL that can never be downloaded. */
const UNREACHABLE = "http://127.0.0.1:9";

type Operation = (typeof apiSchema.operations)[keyof typeof apiSchema.operations];
interface Parameter {
  name: string;
  in: string;
  required: boolean;
  schema: Schema;
}

let t: TestEmulator;
/** Ids seen in answers, by the `object` they belong to (plus `output` and `batch`). */
const pools = new Map<string, Set<string>>();
const urls: string[] = [`${UNREACHABLE}/gone.pdf`, `${UNREACHABLE}/%FF.pdf`];
const figures = { cases: 0, invalid: 0, byStatus: new Map<number, number>(), started: 0 };

function remember(kind: string, id: unknown) {
  if (typeof id !== "string" || id === "") return;
  const pool = pools.get(kind) ?? new Set<string>();
  pools.set(kind, pool);
  pool.add(id);
}

/** Collects every id an answer shows, so later requests can name things that exist. */
function harvest(value: unknown, key?: string) {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (key === "outputs" && item && typeof item === "object") remember("output", item.id);
      harvest(item);
    }
  } else if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (typeof record.object === "string") remember(record.object, record.id);
    if (typeof record.batchId === "string") remember("batch", record.batchId);
    for (const [k, v] of Object.entries(record)) harvest(v, k);
  }
}

/** An id from a pool (as it is now), or a string that names nothing. */
function idOf(...kinds: string[]): fc.Arbitrary<string> {
  const existing = fc.nat().map((n) => {
    const all = kinds.flatMap((k) => [...(pools.get(k) ?? [])]);
    return all.length ? (all[n % all.length] as string) : `missing_${n}`;
  });
  return fc.oneof(
    { weight: 6, arbitrary: existing },
    { weight: 1, arbitrary: fc.string({ maxLength: 16 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("", " ", "file_does_not_exist", "..", "ünï/cødé", "%", "a?b#c"),
    },
  );
}

const ID_KINDS: Record<string, string[]> = {
  fileId: ["file"],
  processorId: ["document_processor"],
  workflowId: ["workflow"],
  workflowRunId: ["workflow_run"],
  evaluationSetId: ["evaluation_set"],
  templateId: ["edit_template"],
  processorVersionId: ["document_processor_version"],
  outputId: ["output"],
  batchId: ["batch"],
  sourceId: ["evaluation_set", "workflow_run"],
};

/** What `{id}` names, by the path's first segment. */
const PATH_ID_KINDS: Record<string, string[]> = {
  processor_runs: ["document_processor_run"],
  batch_processor_runs: ["batch_processor_run"],
  processors: ["document_processor"],
  parser_runs: ["parser_run", "parser_run_status"],
  files: ["file"],
  edit_runs: ["edit_run", "edit_run_status"],
  edit_templates: ["edit_template"],
  evaluation_sets: ["evaluation_set"],
  evaluation_set_items: ["evaluation_set_item"],
};

function generatorFor(): GeneratorContext {
  return {
    schemas: apiSchema.components.schemas as unknown as Record<string, Schema>,
    strings(name, format) {
      if (format === "uri") return fc.nat().map((n) => urls[n % urls.length] as string);
      if (name && ID_KINDS[name]) return idOf(...(ID_KINDS[name] as string[]));
      if (name === "version")
        return fc.oneof(fc.constantFrom("latest", "draft", "1", "1.0", "2.0"), fc.string());
      return undefined;
    },
  };
}

/** One request, and what the answer must be. */
interface Case {
  headers: Record<string, string>;
  path: string;
  query: string;
  body?: { json: unknown } | { text: string } | { form: Array<[string, string, string?]> };
  /** Undefined: valid input (any non-5xx the spec declares); otherwise the 4xx and what it names. */
  expect?: { status: number; names: RegExp };
  describe: string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function caseOf(operationId: string, op: Operation): fc.Arbitrary<Case> {
  const ctx = generatorFor();
  const params = op.parameters as Parameter[];
  const first = op.path.split("/")[1] as string;

  const headerArb = fc.oneof(
    { weight: 12, arbitrary: fc.constant("ok" as const) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("no-token", "wrong-token", "no-version", "bad-version"),
    },
  );
  const workspace = fc.option(fc.string({ maxLength: 12 }), { nil: undefined });

  // Path parameters: an existing id, any string (encoded), or a malformed escape (raw).
  const pathArbs = params
    .filter((p) => p.in === "path")
    .map((p) => {
      const kinds = ID_KINDS[p.name] ?? PATH_ID_KINDS[first] ?? [];
      return fc.oneof(
        {
          weight: 12,
          // An empty value would name another path (`/processors/x/versions/` is a list), and
          // URLs resolve dot segments before sending (`/files/..` is `/`).
          arbitrary: idOf(...kinds)
            .filter((v) => v !== "" && v !== "." && v !== "..")
            .map((v) => ({
              name: p.name,
              raw: encodeURIComponent(v),
              bad: false,
            })),
        },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom("%", "%E0%A4%A", "%zz", "a%")
            .map((v) => ({ name: p.name, raw: v, bad: true })),
        },
      );
    });

  // Query parameters: each optional one present or not; one may be made invalid.
  const queryParams = params.filter((p) => p.in === "query");
  const queryArb = fc.record(
    Object.fromEntries(queryParams.map((p) => [p.name, arbitraryFor(p.schema, ctx, p.name)])),
    { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name) },
  );
  const typedQuery = queryParams.filter((p) => {
    const schema = p.schema.$ref
      ? (ctx.schemas[(p.schema.$ref as string).split("/").pop() as string] as Schema)
      : p.schema;
    return schema.enum || schema.type === "integer" || schema.type === "boolean";
  });
  const badQuery = typedQuery.length
    ? fc.option(fc.constantFrom(...typedQuery.map((p) => p.name)), { nil: undefined, freq: 8 })
    : fc.constant(undefined);

  // The body: valid from the schema, or one mutation of it, or not JSON at all.
  const body = "body" in op ? (op.body as { contentType: string; schema: Schema }) : undefined;
  const jsonArb: fc.Arbitrary<{
    value?: unknown;
    original?: unknown;
    mutation?: Mutation;
    raw?: string;
  }> =
    body?.contentType === "application/json"
      ? fc.tuple(arbitraryFor(body.schema, ctx), fc.nat(), fc.nat(9)).map(([value, pick, mode]) => {
          if (mode === 0) return { raw: RAW_BODIES[pick % RAW_BODIES.length] as string };
          if (mode > 3) return { value };
          const sites = mutationsOf(value, body.schema, ctx);
          const mutation = sites[pick % Math.max(1, sites.length)];
          return mutation
            ? { value: applyMutation(value, mutation), original: value, mutation }
            : { value };
        })
      : fc.constant({});
  const formArb = fc.array(
    fc.oneof(
      fc.tuple(
        fc.constant("file"),
        fc.constantFrom("hello", "%PDF-1.4\n%%EOF\n", ""),
        fc.constantFrom("a.txt", "a.pdf", "a.bin", ""),
      ),
      fc.tuple(
        fc.constantFrom("attachment", "note", "FILE"),
        fc.string({ maxLength: 8 }),
        fc.constantFrom("x.txt", undefined),
      ),
    ),
    { maxLength: 3 },
  );

  return fc
    .record({
      header: headerArb,
      workspace,
      path: fc.tuple(...pathArbs),
      query: queryArb,
      badQuery,
      json: jsonArb,
      form: formArb,
    })
    .map(({ header, workspace, path: pathValues, query, badQuery, json, form }): Case => {
      const headers: Record<string, string> = {
        authorization: `Bearer ${t.emulator.token}`,
        "x-extend-api-version": "2025-04-21",
      };
      if (workspace !== undefined) headers["x-extend-workspace-id"] = workspace;
      let path = op.path;
      for (const p of pathValues) path = path.replace(`{${p.name}}`, p.raw);
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) search.set(k, String(v));
      if (badQuery) search.set(badQuery, "NOT_A_VALID_VALUE");
      let caseBody: Case["body"];
      if (body?.contentType === "application/json") {
        if (json.raw !== undefined) caseBody = { text: json.raw };
        else if ("value" in json) caseBody = { json: json.value };
        headers["content-type"] = "application/json";
      } else if (body?.contentType === "multipart/form-data") caseBody = { form };

      // What must come back, in the order the emulator checks: auth, version, path, query, body.
      let expected: Case["expect"];
      const badPath = pathValues.find((p) => p.bad);
      const bodyProblem =
        json.mutation && json.value !== undefined
          ? schemaProblems(body?.schema as Schema, json.value)
          : [];
      if (header === "no-token" || header === "wrong-token") {
        if (header === "no-token") delete headers.authorization;
        else headers.authorization = "Bearer not-the-token";
        expected = { status: 401, names: /Authorization|bearer token/i };
      } else if (header === "no-version" || header === "bad-version") {
        if (header === "no-version") delete headers["x-extend-api-version"];
        else headers["x-extend-api-version"] = "2024-01-01";
        expected = { status: 400, names: /x-extend-api-version/ };
      } else if (badPath) {
        expected = { status: 400, names: new RegExp(`\`${badPath.name}\``) };
      } else if (badQuery) {
        expected = { status: 400, names: new RegExp(`query\\.${escapeRegExp(badQuery)}\\b`) };
      } else if (json.raw !== undefined) {
        // No body at all is fine where the body is optional.
        const required = (op as { body?: { required?: boolean } }).body?.required === true;
        if (json.raw.trim() !== "" || required)
          expected = { status: 400, names: json.raw.trim() ? /not valid JSON|body/ : /body/ };
      } else if (json.mutation && bodyProblem.length) {
        // The generator is not exact (an anyOf branch another keyword rejects): when the value
        // was invalid before the mutation, the message names the body, not necessarily the field.
        const wasValid = schemaProblems(body?.schema as Schema, json.original).length === 0;
        expected = {
          status: 400,
          names: wasValid ? new RegExp(escapeRegExp(json.mutation.names)) : /body/,
        };
      }
      const query_ = search.toString();
      return {
        headers,
        path,
        query: query_ ? `?${query_}` : "",
        body: caseBody,
        expect: expected,
        describe: `${operationId}: ${op.method} ${path}${query_ ? `?${query_}` : ""} [${header}]${
          json.mutation ? ` mutation ${json.mutation.kind} ${json.mutation.path.join(".")}` : ""
        }`,
      };
    });
}

async function send(op: Operation, c: Case) {
  let body: BodyInit | undefined;
  if (c.body && "json" in c.body) body = JSON.stringify(c.body.json);
  else if (c.body && "text" in c.body) body = c.body.text;
  else if (c.body && "form" in c.body) {
    const form = new FormData();
    for (const [field, content, name] of c.body.form) {
      if (name === undefined) form.append(field, content);
      else form.append(field, new Blob([content]), name);
    }
    body = form;
  }
  let response: Response;
  try {
    response = await fetch(`${t.emulator.url}${c.path}${c.query}`, {
      method: op.method,
      headers: c.headers,
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`${c.describe}: no answer (${(error as Error).message})`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new Error(`${c.describe}: answered ${response.status} with a body that is not JSON`);
  }
  return { status: response.status, json, text };
}

/** A one-page text PDF, so parse, edit and extraction get a real document. */
async function samplePdf() {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const page = pdf.addPage([612, 792]);
  const lines = ["ACME Supplies", "Invoice Number: INV-0042", "Date: 2025-03-14", "Total: $110.00"];
  for (const [i, line] of lines.entries())
    page.drawText(line, { x: 72, y: 720 - i * 20, size: 12, font });
  return new Uint8Array(await pdf.save());
}

beforeAll(async () => {
  t = await startTestEmulator();
  figures.started = performance.now();
  const pdf = await t.upload("invoice.pdf", await samplePdf(), "application/pdf");
  const text = await t.upload("note.txt", "Invoice #7, total $10.00", "text/plain");
  const described = await t.request("GET", `/files/${pdf.id}`);
  urls.push(described.body.file.presignedUrl);
  await t.admin("POST", "/edit_templates", { name: "fuzz form", fileId: pdf.id });
  const runs = await t.request("POST", "/workflow_runs", {
    body: {
      workflowId: t.emulator.seed.workflowId,
      files: [{ fileId: pdf.id }, { fileUrl: `${UNREACHABLE}/gone.pdf` }],
      rawTexts: ["Invoice #9, total $9.00"],
    },
  });
  await t.emulator.idle();
  for (const run of runs.body.workflowRuns)
    harvest((await t.request("GET", `/workflow_runs/${run.id}`)).body);
  for (const path of [
    "/processors",
    "/files",
    "/evaluation_sets",
    "/processor_runs",
    "/workflow_runs",
  ])
    harvest((await t.request("GET", path)).body);
  harvest({ files: [pdf, text] });
  for (const id of [t.emulator.seed.workflowId, t.emulator.seed.reviewWorkflowId])
    remember("workflow", id);
  const versions = await t.request("GET", `/processors/${t.emulator.seed.extractorId}/versions`);
  harvest(versions.body);
});

afterAll(async () => {
  const seconds = ((performance.now() - figures.started) / 1000).toFixed(1);
  const statuses = [...figures.byStatus.entries()].sort(([a], [b]) => a - b);
  console.log(
    `fuzz: ${operations.length} operations, ${figures.cases} cases (${figures.invalid} invalid), ${seconds} s, seed ${SEED}; statuses ${statuses.map(([s, n]) => `${s}×${n}`).join(" ")}`,
  );
  await t?.close();
});

// Creating things first gives the later operations ids to work on; deleting comes last.
const rank = (op: Operation) =>
  op.method === "DELETE" ? 3 : op.method === "POST" && !op.path.includes("{") ? 0 : 1;
const operations = Object.entries(apiSchema.operations).sort(
  ([, a], [, b]) => rank(a as Operation) - rank(b as Operation),
) as Array<[string, Operation]>;

describe("the emulator under requests generated from the spec", () => {
  test.each(operations)(
    "%s",
    async (operationId, op) => {
      await fc.assert(
        fc.asyncProperty(caseOf(operationId, op), async (c) => {
          const { status, json, text } = await send(op, c);
          figures.cases++;
          if (c.expect) figures.invalid++;
          figures.byStatus.set(status, (figures.byStatus.get(status) ?? 0) + 1);
          if (status < 300) harvest(json);
          const where = `${c.describe} → ${status} ${text.slice(0, 300)}`;
          expect(status, where).toBeLessThan(500);
          expect(responseProblems(op.method, c.path, status, json), where).toEqual([]);
          if (c.expect) {
            expect(status, where).toBe(c.expect.status);
            expect((json as { message?: string }).message, where).toMatch(c.expect.names);
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    },
    Math.max(TIMEOUT_MS * 4, RUNS * 1_000),
  );
});
