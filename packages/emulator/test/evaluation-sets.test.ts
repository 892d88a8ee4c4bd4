import type { Schemas } from "@extendkit/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { invoiceText, startTestEmulator, type TestEmulator } from "./helpers/harness.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

const classifierId = "dp_document_classifier";
const extractorId = "dp_invoice_extractor";

const upload = (name: string, text: string) => t.upload(name, text, "text/plain");

async function createSet(body: Schemas["CreateEvaluationSetRequest"]) {
  const { data, error } = await t.client.POST("/evaluation_sets", { body });
  expect(error).toBeUndefined();
  return data!.evaluationSet;
}

async function createItem(body: Schemas["CreateEvaluationSetItemRequest"]) {
  const { data, error } = await t.client.POST("/evaluation_set_items", { body });
  expect(error).toBeUndefined();
  return data!.evaluationSetItem;
}

async function itemsOf(id: string, query: { maxPageSize?: number; nextPageToken?: string } = {}) {
  const { data, error } = await t.client.GET("/evaluation_sets/{id}/items", {
    params: { path: { id }, query },
  });
  expect(error).toBeUndefined();
  return data!;
}

async function itemIds(id: string) {
  const { evaluationSetItems, nextPageToken } = await itemsOf(id, { maxPageSize: 1000 });
  expect(nextPageToken).toBeUndefined();
  return evaluationSetItems.map((i) => i.id);
}

const invoiceOutput = (n: number): Schemas["ProvidedProcessorOutput"] => ({
  value: { invoice_number: `INV-${String(n).padStart(4, "0")}` },
});

describe("POST /evaluation_sets", () => {
  test("creates an evaluation set for a processor", async () => {
    const set = await createSet({
      name: "Invoices",
      description: "Ten invoices",
      processorId: extractorId,
    });
    expect(set).toMatchObject({
      object: "evaluation_set",
      name: "Invoices",
      description: "Ten invoices",
      processorId: extractorId,
    });
    expect(set.id).toMatch(/^ev_[A-Za-z0-9_-]{20}$/);
    expect(new Date(set.createdAt).toISOString()).toBe(set.createdAt);
    expect(set.updatedAt).toBe(set.createdAt);
  });

  test.each([
    ["name", { description: "d", processorId: extractorId }],
    ["description", { name: "n", processorId: extractorId }],
    ["processorId", { name: "n", description: "d" }],
  ])("refuses a body without %s with 400 naming it", async (field, body) => {
    const { status, body: error } = await t.request("POST", "/evaluation_sets", { body });
    expect(status).toBe(400);
    expect(error).toMatchObject({ success: false, code: "INVALID_REQUEST" });
    expect(error.error).toMatch(new RegExp(`body\\.${field} is required`));
  });

  test("answers 404 for an unknown processor", async () => {
    const { status, body } = await t.request("POST", "/evaluation_sets", {
      body: { name: "n", description: "d", processorId: "dp_nope" },
    });
    expect(status).toBe(404);
    expect(body.error).toContain("dp_nope");
  });
});

describe("GET /evaluation_sets/{id}", () => {
  test("answers the set without embedding its items", async () => {
    const set = await createSet({ name: "Get", description: "d", processorId: extractorId });
    const file = await upload("get.txt", invoiceText(1));
    await createItem({
      evaluationSetId: set.id,
      fileId: file.id,
      expectedOutput: invoiceOutput(1),
    });

    const { data, error } = await t.client.GET("/evaluation_sets/{id}", {
      params: { path: { id: set.id } },
    });
    expect(error).toBeUndefined();
    expect(data?.evaluationSet).toMatchObject({
      object: "evaluation_set",
      id: set.id,
      name: "Get",
      description: "d",
      processorId: extractorId,
    });
    expect(Object.keys(data!.evaluationSet).sort()).toEqual(
      ["createdAt", "description", "id", "name", "object", "processorId", "updatedAt"].sort(),
    );
  });

  test("answers 404 for an unknown set", async () => {
    const { status, body } = await t.request("GET", "/evaluation_sets/ev_nope");
    expect(status).toBe(404);
    expect(body.error).toContain("ev_nope");
  });
});

describe("GET /evaluation_sets", () => {
  test("filters by processorId", async () => {
    const ofClassifier = await createSet({
      name: "Classes",
      description: "d",
      processorId: classifierId,
    });
    const ofExtractor = await createSet({
      name: "Fields",
      description: "d",
      processorId: extractorId,
    });
    const list = async (processorId: string) => {
      const { data } = await t.client.GET("/evaluation_sets", {
        params: { query: { processorId, maxPageSize: 1000 } },
      });
      return data!.evaluationSets;
    };
    const classifierSets = await list(classifierId);
    expect(classifierSets.map((s) => s.id)).toContain(ofClassifier.id);
    expect(classifierSets.map((s) => s.id)).not.toContain(ofExtractor.id);
    expect(new Set(classifierSets.map((s) => s.processorId))).toEqual(new Set([classifierId]));
    expect((await list(extractorId)).map((s) => s.id)).toContain(ofExtractor.id);
  });

  test("pages with maxPageSize and nextPageToken through every set exactly once", async () => {
    const { data: p } = await t.client.POST("/processors", {
      body: { name: "Paged sets", type: "CLASSIFY", cloneProcessorId: classifierId },
    });
    const processorId = p!.processor.id;
    const created = [
      await createSet({ name: "s1", description: "d", processorId }),
      await createSet({ name: "s2", description: "d", processorId }),
      await createSet({ name: "s3", description: "d", processorId }),
    ].map((s) => s.id);

    const first = await t.client.GET("/evaluation_sets", {
      params: { query: { processorId, maxPageSize: 2 } },
    });
    expect(first.data?.evaluationSets).toHaveLength(2);
    expect(first.data?.nextPageToken).toEqual(expect.any(String));
    const second = await t.client.GET("/evaluation_sets", {
      params: { query: { processorId, maxPageSize: 2, nextPageToken: first.data!.nextPageToken } },
    });
    expect(second.data?.evaluationSets).toHaveLength(1);
    expect(second.data?.nextPageToken).toBeUndefined();
    const seen = [...first.data!.evaluationSets, ...second.data!.evaluationSets].map((s) => s.id);
    // Newest update first by default.
    expect(seen).toEqual([...created].reverse());
  });

  test("refuses maxPageSize 0 with 400", async () => {
    const { status, body } = await t.request("GET", "/evaluation_sets?maxPageSize=0");
    expect(status).toBe(400);
    expect(body.error).toMatch(/maxPageSize must be >= 1/);
  });
});

describe("GET /evaluation_sets/{id}/items", () => {
  test("lists only the set's items, paging with maxPageSize", async () => {
    const set = await createSet({ name: "Items", description: "d", processorId: extractorId });
    const other = await createSet({ name: "Other", description: "d", processorId: extractorId });
    const file = await upload("items.txt", invoiceText(2));
    const mine = [
      await createItem({
        evaluationSetId: set.id,
        fileId: file.id,
        expectedOutput: invoiceOutput(2),
      }),
      await createItem({
        evaluationSetId: set.id,
        fileId: file.id,
        expectedOutput: invoiceOutput(3),
      }),
    ];
    const theirs = await createItem({
      evaluationSetId: other.id,
      fileId: file.id,
      expectedOutput: invoiceOutput(4),
    });

    expect((await itemIds(set.id)).sort()).toEqual(mine.map((i) => i.id).sort());
    expect(await itemIds(other.id)).toEqual([theirs.id]);

    const first = await itemsOf(set.id, { maxPageSize: 1 });
    expect(first.evaluationSetItems).toHaveLength(1);
    expect(first.nextPageToken).toEqual(expect.any(String));
    const second = await itemsOf(set.id, { maxPageSize: 1, nextPageToken: first.nextPageToken });
    expect(second.evaluationSetItems).toHaveLength(1);
    expect(second.nextPageToken).toBeUndefined();
    expect(
      [...first.evaluationSetItems, ...second.evaluationSetItems].map((i) => i.id).sort(),
    ).toEqual(mine.map((i) => i.id).sort());
  });

  test("answers 404 for an unknown set", async () => {
    const { status, body } = await t.request("GET", "/evaluation_sets/ev_nope/items");
    expect(status).toBe(404);
    expect(body.error).toContain("ev_nope");
  });
});

describe("POST /evaluation_set_items", () => {
  test("creates an item holding the file and its expected output", async () => {
    const set = await createSet({ name: "Create", description: "d", processorId: classifierId });
    const file = await upload("create.txt", invoiceText(5));
    const expectedOutput = { id: "invoice", type: "invoice", confidence: 1 };
    const item = await createItem({ evaluationSetId: set.id, fileId: file.id, expectedOutput });
    expect(item).toEqual({
      object: "evaluation_set_item",
      id: expect.stringMatching(/^evi_[A-Za-z0-9_-]{20}$/),
      evaluationSetId: set.id,
      fileId: file.id,
      expectedOutput,
    });
    expect((await itemsOf(set.id)).evaluationSetItems).toEqual([item]);
  });

  test("answers 404 for an unknown set or file, and creates nothing", async () => {
    const set = await createSet({ name: "Missing", description: "d", processorId: extractorId });
    const file = await upload("missing.txt", invoiceText(6));
    const unknownSet = await t.request("POST", "/evaluation_set_items", {
      body: { evaluationSetId: "ev_nope", fileId: file.id, expectedOutput: invoiceOutput(6) },
    });
    expect(unknownSet.status).toBe(404);
    expect(unknownSet.body.error).toContain("ev_nope");
    const unknownFile = await t.request("POST", "/evaluation_set_items", {
      body: { evaluationSetId: set.id, fileId: "file_nope", expectedOutput: invoiceOutput(6) },
    });
    expect(unknownFile.status).toBe(404);
    expect(unknownFile.body.error).toContain("file_nope");
    expect(await itemIds(set.id)).toEqual([]);
  });

  test.each([
    ["without expectedOutput", { fileId: "file_x" }, /body\.expectedOutput is required/],
    ["without fileId", { expectedOutput: { value: {} } }, /body\.fileId is required/],
    [
      "with an expectedOutput that is not an object",
      { fileId: "file_x", expectedOutput: 3 },
      /body\.expectedOutput/,
    ],
  ])("refuses a body %s with 400", async (_name, partial, message) => {
    const set = await createSet({ name: "Bad", description: "d", processorId: extractorId });
    const { status, body } = await t.request("POST", "/evaluation_set_items", {
      body: { evaluationSetId: set.id, ...partial },
    });
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
  });
});

describe("POST /evaluation_set_items/{id} (update)", () => {
  test("replaces the expected output, which the items list then shows", async () => {
    const set = await createSet({ name: "Update", description: "d", processorId: extractorId });
    const file = await upload("update.txt", invoiceText(7));
    const item = await createItem({
      evaluationSetId: set.id,
      fileId: file.id,
      expectedOutput: { value: { invoice_number: "INV-0007", total: { amount: 1 } } },
    });
    const replacement = { value: { invoice_number: "INV-0008" } };
    const { data, error } = await t.client.POST("/evaluation_set_items/{id}", {
      params: { path: { id: item.id } },
      body: { expectedOutput: replacement },
    });
    expect(error).toBeUndefined();
    expect(data?.evaluationSetItem).toEqual({ ...item, expectedOutput: replacement });
    expect((await itemsOf(set.id)).evaluationSetItems).toEqual([
      { ...item, expectedOutput: replacement },
    ]);
  });

  test("answers 404 for an unknown item", async () => {
    const { status, body } = await t.request("POST", "/evaluation_set_items/evi_nope", {
      body: { expectedOutput: { value: {} } },
    });
    expect(status).toBe(404);
    expect(body.error).toContain("evi_nope");
  });

  test("refuses a missing expectedOutput with 400", async () => {
    const { status, body } = await t.request("POST", "/evaluation_set_items/evi_nope", {
      body: {},
    });
    expect(status).toBe(400);
    expect(body.error).toMatch(/body\.expectedOutput is required/);
  });
});

describe("DELETE /evaluation_set_items/{id}", () => {
  test("deletes the item under evaluationSetItemId: it leaves the list, and updating or deleting it again answers 404", async () => {
    const set = await createSet({ name: "Delete", description: "d", processorId: extractorId });
    const file = await upload("delete.txt", invoiceText(9));
    const kept = await createItem({
      evaluationSetId: set.id,
      fileId: file.id,
      expectedOutput: invoiceOutput(9),
    });
    const item = await createItem({
      evaluationSetId: set.id,
      fileId: file.id,
      expectedOutput: invoiceOutput(10),
    });
    const { data, error } = await t.client.DELETE("/evaluation_set_items/{id}", {
      params: { path: { id: item.id } },
    });
    expect(error).toBeUndefined();
    expect(data).toEqual({
      success: true,
      evaluationSetItemId: item.id,
      message: expect.any(String),
    });
    expect(await itemIds(set.id)).toEqual([kept.id]);
    const update = await t.request("POST", `/evaluation_set_items/${item.id}`, {
      body: { expectedOutput: invoiceOutput(11) },
    });
    expect(update.status).toBe(404);
    const again = await t.request("DELETE", `/evaluation_set_items/${item.id}`);
    expect(again.status).toBe(404);
    expect(again.body.error).toContain(item.id);
  });
});

describe("POST /evaluation_set_items/bulk", () => {
  test("creates every item and answers them in input order", async () => {
    const set = await createSet({ name: "Bulk", description: "d", processorId: extractorId });
    const files = [
      await upload("bulk-c.txt", invoiceText(21)),
      await upload("bulk-a.txt", invoiceText(22)),
      await upload("bulk-b.txt", invoiceText(23)),
    ];
    const items = files.map((f, i) => ({ fileId: f.id, expectedOutput: invoiceOutput(21 + i) }));
    const { data, error } = await t.client.POST("/evaluation_set_items/bulk", {
      body: { evaluationSetId: set.id, items },
    });
    expect(error).toBeUndefined();
    const created = data!.evaluationSetItems;
    expect(created.map((i) => [i.fileId, i.expectedOutput])).toEqual(
      items.map((i) => [i.fileId, i.expectedOutput]),
    );
    for (const item of created) {
      expect(item).toMatchObject({ object: "evaluation_set_item", evaluationSetId: set.id });
      expect(item.id).toMatch(/^evi_/);
    }
    expect(new Set(created.map((i) => i.id)).size).toBe(3);
    expect((await itemIds(set.id)).sort()).toEqual(created.map((i) => i.id).sort());
  });

  test("answers 404 when any file is unknown, and creates none of the items", async () => {
    const set = await createSet({ name: "Bulk 404", description: "d", processorId: extractorId });
    const file = await upload("bulk-ok.txt", invoiceText(31));
    const { status, body } = await t.request("POST", "/evaluation_set_items/bulk", {
      body: {
        evaluationSetId: set.id,
        items: [
          { fileId: file.id, expectedOutput: invoiceOutput(31) },
          { fileId: "file_nope", expectedOutput: invoiceOutput(32) },
          { fileId: file.id, expectedOutput: invoiceOutput(33) },
        ],
      },
    });
    expect(status).toBe(404);
    expect(body.error).toContain("file_nope");
    expect(await itemIds(set.id)).toEqual([]);
  });

  test("answers 404 for an unknown set", async () => {
    const file = await upload("bulk-set.txt", invoiceText(41));
    const { status, body } = await t.request("POST", "/evaluation_set_items/bulk", {
      body: {
        evaluationSetId: "ev_nope",
        items: [{ fileId: file.id, expectedOutput: { value: {} } }],
      },
    });
    expect(status).toBe(404);
    expect(body.error).toContain("ev_nope");
  });

  test.each([
    ["no items", () => [], /body\.items must NOT have fewer than 1 items/],
    [
      "101 items",
      () =>
        Array.from({ length: 101 }, () => ({ fileId: "file_x", expectedOutput: { value: {} } })),
      /body\.items must NOT have more than 100 items/,
    ],
    ["an item without expectedOutput", () => [{ fileId: "file_x" }], /expectedOutput is required/],
  ])("refuses %s with 400 and creates nothing", async (_name, items, message) => {
    const set = await createSet({ name: "Bulk 400", description: "d", processorId: extractorId });
    const { status, body } = await t.request("POST", "/evaluation_set_items/bulk", {
      body: { evaluationSetId: set.id, items: items() },
    });
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
    expect(await itemIds(set.id)).toEqual([]);
  });
});
