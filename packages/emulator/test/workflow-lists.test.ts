import type { paths } from "@extendkit/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  eventually,
  invoiceText,
  startTestEmulator,
  type TestEmulator,
} from "./helpers/harness.js";

type ListQuery = NonNullable<paths["/workflow_runs"]["get"]["parameters"]["query"]>;

const workflowId = "workflow_invoices";
const reviewWorkflowId = "workflow_invoices_review";
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** One emulator per describe block, so that counts and orders only see that block's runs. */
function dedicatedEmulator() {
  const holder = {} as { t: TestEmulator };
  beforeAll(async () => {
    holder.t = await startTestEmulator();
  });
  afterAll(() => holder.t.close());
  return holder;
}

async function runTexts(
  t: TestEmulator,
  texts: string[],
  extra: { workflowId?: string; version?: string } = {},
) {
  const { data, error } = await t.client.POST("/workflow_runs", {
    body: { workflowId, rawTexts: texts, ...extra },
  });
  expect(error).toBeUndefined();
  return data!.workflowRuns.map((r) => r.id);
}

async function list(t: TestEmulator, query: ListQuery = {}) {
  const { data, error } = await t.client.GET("/workflow_runs", { params: { query } });
  expect(error).toBeUndefined();
  return data!;
}

async function listIds(t: TestEmulator, query: ListQuery = {}) {
  return (await list(t, query)).workflowRuns.map((r) => r.id);
}

/** Follows `nextPageToken` until the last page; answers every page. */
async function walk(t: TestEmulator, query: ListQuery) {
  const pages = [await list(t, query)];
  for (let guard = 0; pages.at(-1)?.nextPageToken; guard++) {
    if (guard > 50) throw new Error("the walk did not end");
    pages.push(await list(t, { ...query, nextPageToken: pages.at(-1)?.nextPageToken }));
  }
  return pages;
}

/** Waits until no run is queued or executing, then until the clock ticks, so that the next
 * write is stamped strictly later than every write before it. */
async function settle(t: TestEmulator) {
  await t.emulator.idle();
  const now = Date.now();
  await eventually(() => (Date.now() > now ? true : undefined), { everyMs: 1 });
}

describe("GET /workflow_runs items", () => {
  const e = dedicatedEmulator();

  test("are summaries naming the workflow and its version, with timestamps and no outputs", async () => {
    const { t } = e;
    const [id] = await runTexts(t, [invoiceText(1)]);
    await t.emulator.idle();
    const { workflowRuns, nextPageToken } = await list(t);
    expect(nextPageToken).toBeUndefined();
    expect(workflowRuns).toHaveLength(1);
    const item = workflowRuns[0]!;
    expect(item).toMatchObject({
      id,
      status: "PROCESSED",
      workflowId,
      workflowName: "Invoice processing",
    });
    expect(item.workflowVersionId).toMatch(/^workflow_version_[A-Za-z0-9_-]+$/);
    expect(item.createdAt).toMatch(RFC3339_UTC);
    expect(item.updatedAt).toMatch(RFC3339_UTC);
    expect(item.updatedAt >= item.createdAt).toBe(true);
    expect(item).not.toHaveProperty("outputs");
    expect(item).not.toHaveProperty("stepRuns");
    expect(item).not.toHaveProperty("files");
    expect(item).not.toHaveProperty("object");
    const { data } = await t.client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: id! } },
    });
    expect(data?.workflowRun.outputs.length).toBeGreaterThan(0);
    expect(item.initialRunAt).toBe(data?.workflowRun.initialRunAt);
    expect(item.startTime).toBe(data?.workflowRun.startTime);
    expect(item.endTime).toBe(data?.workflowRun.endTime);
  });

  test("name the version that ran: a draft run and a latest run carry different version ids", async () => {
    const { t } = e;
    const [latest] = await runTexts(t, ["x"]);
    const [draft] = await runTexts(t, ["y"], { version: "draft" });
    const items = (await list(t, { maxPageSize: 100 })).workflowRuns;
    const versionOf = (id: string | undefined) => items.find((r) => r.id === id)?.workflowVersionId;
    expect(versionOf(latest)).toMatch(/^workflow_version_/);
    expect(versionOf(draft)).toMatch(/^workflow_version_/);
    expect(versionOf(draft)).not.toBe(versionOf(latest));
  });
});

describe("GET /workflow_runs pagination", () => {
  const e = dedicatedEmulator();
  let created: string[] = [];
  beforeAll(async () => {
    // One request: the three runs share their createdAt, so only the cursor's tiebreaker
    // tells them apart.
    created = await runTexts(e.t, [invoiceText(1), invoiceText(2), invoiceText(3)]);
    await e.t.emulator.idle();
  });

  test("maxPageSize=1 over 3 runs answers 1 item and a nextPageToken", async () => {
    const page = await list(e.t, { maxPageSize: 1 });
    expect(page.workflowRuns).toHaveLength(1);
    expect(page.nextPageToken).toEqual(expect.any(String));
  });

  test.each<[string, ListQuery]>([
    ["the default sort", {}],
    ["sortDir=asc", { sortDir: "asc" }],
    ["sortBy=createdAt", { sortBy: "createdAt" }],
    ["sortBy=createdAt&sortDir=asc", { sortBy: "createdAt", sortDir: "asc" }],
  ])(
    "following nextPageToken twice under %s reaches the last item, visiting each run once",
    async (_name, query) => {
      const pages = await walk(e.t, { ...query, maxPageSize: 1 });
      expect(pages).toHaveLength(3);
      expect(pages.map((p) => p.workflowRuns.length)).toEqual([1, 1, 1]);
      expect(pages.slice(0, 2).every((p) => typeof p.nextPageToken === "string")).toBe(true);
      expect(pages[2]).not.toHaveProperty("nextPageToken");
      const visited = pages.flatMap((p) => p.workflowRuns.map((r) => r.id));
      expect(new Set(visited).size).toBe(3);
      expect([...visited].sort()).toEqual([...created].sort());
      // The walk sees the runs in the order one big page has them.
      expect(visited).toEqual(await listIds(e.t, query));
    },
  );

  test("a page holds 10 runs when maxPageSize is not given", async () => {
    const more = await runTexts(
      e.t,
      Array.from({ length: 9 }, (_, i) => `note ${i}`),
    );
    await e.t.emulator.idle();
    const first = await list(e.t);
    expect(first.workflowRuns).toHaveLength(10);
    expect(first.nextPageToken).toEqual(expect.any(String));
    const second = await list(e.t, { nextPageToken: first.nextPageToken });
    expect(second.workflowRuns).toHaveLength(2);
    expect(second).not.toHaveProperty("nextPageToken");
    const all = [...first.workflowRuns, ...second.workflowRuns].map((r) => r.id);
    expect([...all].sort()).toEqual([...created, ...more].sort());
  });

  test("a sortBy=createdAt walk visits every run once even when runs are updated between pages", async () => {
    const { t } = e;
    const ids = await runTexts(t, ["p", "q", "r", "s"], { workflowId });
    await t.emulator.idle();
    const query: ListQuery = { sortBy: "createdAt", maxPageSize: 2 };
    const first = await list(t, query);
    const seen = first.workflowRuns.map((r) => r.id);
    // Updating a run changes its updatedAt but never its createdAt, so it keeps its place.
    for (const id of ids) {
      await t.client.POST("/workflow_runs/{workflowRunId}", {
        params: { path: { workflowRunId: id } },
        body: { metadata: { touched: true } },
      });
    }
    let token = first.nextPageToken;
    for (let guard = 0; token; guard++) {
      if (guard > 50) throw new Error("the walk did not end");
      const page = await list(t, { ...query, nextPageToken: token });
      seen.push(...page.workflowRuns.map((r) => r.id));
      token = page.nextPageToken;
    }
    const everything = await listIds(t, { maxPageSize: 1000 });
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...everything].sort());
  });
});

describe("GET /workflow_runs sorting", () => {
  const e = dedicatedEmulator();
  let a = "";
  let b = "";
  let c = "";
  beforeAll(async () => {
    const { t } = e;
    [a] = (await runTexts(t, ["a"])) as [string];
    await settle(t);
    [b] = (await runTexts(t, ["b"])) as [string];
    await settle(t);
    [c] = (await runTexts(t, ["c"])) as [string];
    await settle(t);
    // The oldest run becomes the most recently updated: updatedAt order is A, C, B while
    // createdAt order is C, B, A.
    await t.client.POST("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: a } },
      body: { name: "renamed" },
    });
  });

  test("sorts by updatedAt, newest first, by default", async () => {
    const { workflowRuns } = await list(e.t);
    expect(workflowRuns.map((r) => r.id)).toEqual([a, c, b]);
    const stamps = workflowRuns.map((r) => r.updatedAt);
    expect([...stamps].sort().reverse()).toEqual(stamps);
  });

  test("sortDir=asc answers the least recently updated run first", async () => {
    expect(await listIds(e.t, { sortDir: "asc" })).toEqual([b, c, a]);
  });

  test("sortBy=createdAt orders by creation, newest first, whatever was updated since", async () => {
    const { workflowRuns } = await list(e.t, { sortBy: "createdAt" });
    expect(workflowRuns.map((r) => r.id)).toEqual([c, b, a]);
    const stamps = workflowRuns.map((r) => r.createdAt);
    expect([...stamps].sort().reverse()).toEqual(stamps);
  });

  test("sortBy=createdAt&sortDir=asc answers the oldest run first", async () => {
    expect(await listIds(e.t, { sortBy: "createdAt", sortDir: "asc" })).toEqual([a, b, c]);
  });

  test("sortBy=updatedAt is the default order", async () => {
    expect(await listIds(e.t, { sortBy: "updatedAt", sortDir: "desc" })).toEqual(
      await listIds(e.t),
    );
  });
});

describe("GET /workflow_runs filters", () => {
  const e = dedicatedEmulator();
  const runs = {} as Record<
    "plain" | "review" | "batchA" | "batchB" | "invoiceFile" | "otherFile",
    string
  >;
  let batchId = "";

  beforeAll(async () => {
    const { t } = e;
    [runs.plain] = (await runTexts(t, [invoiceText(1)])) as [string];
    [runs.review] = (await runTexts(t, [invoiceText(2)], { workflowId: reviewWorkflowId })) as [
      string,
    ];
    const batch = await t.client.POST("/workflow_runs/batch", {
      body: { workflowId, inputs: [{ rawText: invoiceText(3) }, { rawText: invoiceText(4) }] },
    });
    batchId = batch.data!.batchId;
    const byBatch = await listIds(t, { batchId });
    [runs.batchA, runs.batchB] = byBatch as [string, string];
    for (const [key, name] of [
      ["invoiceFile", "acme-INVOICE-march.txt"],
      ["otherFile", "globex-receipt.txt"],
    ] as const) {
      const form = new FormData();
      form.append("file", new Blob([invoiceText(5)], { type: "text/plain" }), name);
      const { data: upload } = await t.client.POST("/files/upload", { body: form as never });
      const { data } = await t.client.POST("/workflow_runs", {
        body: { workflowId, files: [{ fileId: upload!.file.id }] },
      });
      runs[key] = data!.workflowRuns[0]!.id;
    }
    await t.emulator.idle();
  });

  const sorted = (ids: string[]) => [...ids].sort();

  test("workflowId answers only that workflow's runs", async () => {
    const items = (await list(e.t, { workflowId: reviewWorkflowId })).workflowRuns;
    expect(items.map((r) => r.id)).toEqual([runs.review]);
    expect(items[0]?.workflowId).toBe(reviewWorkflowId);
    const others = await listIds(e.t, { workflowId });
    expect(sorted(others)).toEqual(
      sorted([runs.plain, runs.batchA, runs.batchB, runs.invoiceFile, runs.otherFile]),
    );
  });

  test("an unknown workflowId answers 404 naming it", async () => {
    const { status, body } = await e.t.request("GET", "/workflow_runs?workflowId=workflow_nope");
    expect(status).toBe(404);
    expect(body).toMatchObject({ success: false, code: "NOT_FOUND" });
    expect(body.error).toContain("workflow_nope");
  });

  test("status answers only runs in that status", async () => {
    const review = (await list(e.t, { status: "NEEDS_REVIEW" })).workflowRuns;
    expect(review.map((r) => r.id)).toEqual([runs.review]);
    expect(review[0]?.status).toBe("NEEDS_REVIEW");
    const processed = (await list(e.t, { status: "PROCESSED" })).workflowRuns;
    expect(processed.every((r) => r.status === "PROCESSED")).toBe(true);
    expect(processed).toHaveLength(5);
    expect(await listIds(e.t, { status: "CANCELLED" })).toEqual([]);
  });

  test("batchId answers only that batch's runs, each carrying it", async () => {
    const items = (await list(e.t, { batchId })).workflowRuns;
    expect(batchId).toMatch(/^batch_/);
    expect(items).toHaveLength(2);
    expect(items.every((r) => r.batchId === batchId)).toBe(true);
    const { data } = await e.t.client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: runs.plain } },
    });
    expect(data?.workflowRun.batchId).toBeUndefined();
    expect(await listIds(e.t, { batchId: "batch_unknown" })).toEqual([]);
  });

  test("fileNameContains matches part of the run's file name", async () => {
    expect(await listIds(e.t, { fileNameContains: "INVOICE-march" })).toEqual([runs.invoiceFile]);
    expect(await listIds(e.t, { fileNameContains: "receipt" })).toEqual([runs.otherFile]);
    expect(await listIds(e.t, { fileNameContains: "no-such-name" })).toEqual([]);
    expect(sorted(await listIds(e.t, { fileNameContains: ".txt" }))).toEqual(
      sorted(Object.values(runs)),
    );
  });

  test("filters combine: workflowId, status and batchId together", async () => {
    expect(await listIds(e.t, { workflowId, status: "PROCESSED", batchId })).toHaveLength(2);
    expect(await listIds(e.t, { workflowId: reviewWorkflowId, batchId })).toEqual([]);
  });
});

describe("GET /workflow_runs validation", () => {
  const e = dedicatedEmulator();

  test.each([
    ["maxPageSize=0", "maxPageSize=0", /query\.maxPageSize must be >= 1/],
    ["maxPageSize=1001", "maxPageSize=1001", /query\.maxPageSize must be <= 1000/],
    ["a maxPageSize that is not a number", "maxPageSize=ten", /query\.maxPageSize/],
    ["an unknown sortBy", "sortBy=name", /query\.sortBy/],
    ["an unknown sortDir", "sortDir=up", /query\.sortDir/],
    ["an unknown status", "status=DONE", /query\.status/],
    ["a garbage nextPageToken", "nextPageToken=garbage", /nextPageToken/],
    [
      "a nextPageToken with three parts",
      "nextPageToken=YQ%3D%3D:MQ%3D%3D:MQ%3D%3D",
      /nextPageToken/,
    ],
    [
      "a nextPageToken whose parts hold no timestamp",
      `nextPageToken=${encodeURIComponent(
        `${Buffer.from("not a date").toString("base64")}:${Buffer.from("1").toString("base64")}`,
      )}`,
      /nextPageToken/,
    ],
  ])("refuses %s with 400 naming the parameter", async (_name, query, message) => {
    const { status, body } = await e.t.request("GET", `/workflow_runs?${query}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, code: "INVALID_REQUEST", retryable: false });
    expect(body.error).toMatch(message);
  });

  test("accepts the bounds maxPageSize=1 and maxPageSize=1000", async () => {
    for (const maxPageSize of [1, 1000]) {
      const { error } = await e.t.client.GET("/workflow_runs", {
        params: { query: { maxPageSize } },
      });
      expect(error).toBeUndefined();
    }
  });
});
