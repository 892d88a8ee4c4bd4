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

const classifyConfig = (...types: string[]): Schemas["ProcessorConfig"] => ({
  type: "CLASSIFY",
  classifications: types.map((type) => ({ id: type, type, description: `A ${type}` })),
});

const extractConfig = (...fields: string[]): Schemas["ProcessorConfig"] => ({
  type: "EXTRACT",
  schema: {
    type: "object",
    properties: Object.fromEntries(
      fields.map((f) => [f, { type: ["string", "null"], description: f }]),
    ),
  },
});

async function createProcessor(body: Schemas["CreateProcessorRequest"]) {
  const { data, error } = await t.client.POST("/processors", { body });
  expect(error).toBeUndefined();
  return data!.processor;
}

async function publish(id: string, body: Schemas["PublishProcessorVersionRequest"]) {
  const { data, error } = await t.client.POST("/processors/{id}/publish", {
    params: { path: { id } },
    body,
  });
  expect(error).toBeUndefined();
  return data!.processorVersion;
}

async function versionsOf(id: string) {
  const { data, error } = await t.client.GET("/processors/{id}/versions", {
    params: { path: { id } },
  });
  expect(error).toBeUndefined();
  return data!.versions;
}

async function listProcessors(query: {
  type?: Schemas["ProcessorType"];
  maxPageSize?: number;
  nextPageToken?: string;
}) {
  const { data, error } = await t.client.GET("/processors", { params: { query } });
  expect(error).toBeUndefined();
  return data!;
}

describe("GET /processors", () => {
  test("lists the seeded processors with their published and draft versions", async () => {
    const { processors, nextPageToken } = await listProcessors({ maxPageSize: 1000 });
    expect(nextPageToken).toBeNull();
    const classifier = processors.find((p) => p.id === classifierId);
    const extractor = processors.find((p) => p.id === extractorId);
    expect(classifier).toMatchObject({
      object: "document_processor",
      name: "Document type classifier",
      type: "CLASSIFY",
    });
    expect(extractor).toMatchObject({
      object: "document_processor",
      name: "Invoice fields",
      type: "EXTRACT",
    });
    for (const p of [classifier!, extractor!]) {
      expect(p.versions.map((v) => v.version)).toEqual(["1.0", "draft"]);
      expect(p.versions.every((v) => v.id.startsWith("dpv_"))).toBe(true);
      expect(new Date(p.createdAt).toISOString()).toBe(p.createdAt);
    }
  });

  test("filters by type", async () => {
    const splitter = await createProcessor({
      name: "Splitter",
      type: "SPLITTER",
      config: {
        type: "SPLITTER",
        splitClassifications: [{ id: "invoice", type: "invoice", description: "An invoice" }],
      },
    });
    const extract = await listProcessors({ type: "EXTRACT", maxPageSize: 1000 });
    expect(extract.processors.map((p) => p.id)).toContain(extractorId);
    expect(new Set(extract.processors.map((p) => p.type))).toEqual(new Set(["EXTRACT"]));
    const split = await listProcessors({ type: "SPLITTER", maxPageSize: 1000 });
    expect(split.processors.map((p) => p.id)).toEqual([splitter.id]);
  });

  test("pages with maxPageSize through every processor once; nextPageToken is null on the last page", async () => {
    const all = (await listProcessors({ maxPageSize: 1000 })).processors.map((p) => p.id);
    expect(all.length).toBeGreaterThanOrEqual(2);

    const seen: string[] = [];
    let token: string | undefined;
    for (let pages = 1; ; pages++) {
      const page = await listProcessors({ maxPageSize: 1, nextPageToken: token });
      expect(page.processors).toHaveLength(1);
      seen.push(page.processors[0]!.id);
      if (page.nextPageToken === null) break;
      expect(page.nextPageToken).toEqual(expect.any(String));
      token = page.nextPageToken;
      expect(pages).toBeLessThan(all.length);
    }
    expect(seen).toEqual(all);
  });

  test("refuses an unknown type and maxPageSize 0 with 400", async () => {
    expect((await t.request("GET", "/processors?type=SUMMARIZE")).status).toBe(400);
    const zero = await t.request("GET", "/processors?maxPageSize=0");
    expect(zero.status).toBe(400);
    expect(zero.body.error).toMatch(/maxPageSize must be >= 1/);
  });
});

describe("POST /processors", () => {
  test("creates a processor from a config, with only a draft version holding it", async () => {
    const config = classifyConfig("invoice", "receipt");
    const processor = await createProcessor({ name: "Mine", type: "CLASSIFY", config });
    expect(processor).toMatchObject({
      object: "document_processor",
      name: "Mine",
      type: "CLASSIFY",
    });
    expect(processor.id).toMatch(/^dp_[A-Za-z0-9_-]{20}$/);
    expect(processor.draftVersion).toMatchObject({
      object: "document_processor_version",
      processorId: processor.id,
      processorType: "CLASSIFY",
      version: "draft",
      config,
    });
    expect(processor.draftVersion.id).toMatch(/^dpv_/);
    const versions = await versionsOf(processor.id);
    expect(versions.map((v) => [v.id, v.version])).toEqual([[processor.draftVersion.id, "draft"]]);
  });

  test("clones another processor's draft config under a new id", async () => {
    const source = (await versionsOf(extractorId)).find((v) => v.version === "draft")!;
    const clone = await createProcessor({
      name: "Clone",
      type: "EXTRACT",
      cloneProcessorId: extractorId,
    });
    expect(clone.id).not.toBe(extractorId);
    expect(clone.name).toBe("Clone");
    expect(clone.draftVersion.id).not.toBe(source.id);
    expect(clone.draftVersion.config).toEqual(source.config);
  });

  test.each([
    [
      "neither config nor cloneProcessorId",
      { name: "X", type: "CLASSIFY" },
      /must include one of `config` or `cloneProcessorId`/,
    ],
    [
      "a config whose type differs from type",
      { name: "X", type: "CLASSIFY", config: extractConfig("a") },
      /config\.type is "EXTRACT" but the processor's type is "CLASSIFY"/,
    ],
    [
      "a clone of a processor of another type",
      { name: "X", type: "EXTRACT", cloneProcessorId: classifierId },
      /type is "CLASSIFY" but the processor's type is "EXTRACT"/,
    ],
    ["a missing name", { type: "CLASSIFY", config: classifyConfig("a") }, /body\.name is required/],
    [
      "an unknown type",
      { name: "X", type: "SUMMARIZE", cloneProcessorId: classifierId },
      /body\.type must be one of/,
    ],
  ])("refuses %s with 400", async (_name, body, message) => {
    const before = (await listProcessors({ maxPageSize: 1000 })).processors.length;
    const { status, body: error } = await t.request("POST", "/processors", { body });
    expect(status).toBe(400);
    expect(error).toMatchObject({ success: false, code: "INVALID_REQUEST" });
    expect(error.error).toMatch(message);
    expect((await listProcessors({ maxPageSize: 1000 })).processors).toHaveLength(before);
  });

  test("answers 404 for an unknown processor to clone", async () => {
    const { status, body } = await t.request("POST", "/processors", {
      body: { name: "X", type: "CLASSIFY", cloneProcessorId: "dp_nope" },
    });
    expect(status).toBe(404);
    expect(body.error).toContain("dp_nope");
  });
});

describe("POST /processors/{id} (update)", () => {
  test("renames the processor and replaces its draft config, leaving published versions alone", async () => {
    const original = classifyConfig("invoice");
    const created = await createProcessor({ name: "Before", type: "CLASSIFY", config: original });
    const v1 = await publish(created.id, { releaseType: "major" });

    const replaced = classifyConfig("receipt", "contract");
    const { data, error } = await t.client.POST("/processors/{id}", {
      params: { path: { id: created.id } },
      body: { name: "After", config: replaced },
    });
    expect(error).toBeUndefined();
    expect(data?.processor).toMatchObject({ id: created.id, name: "After" });
    expect(data?.processor.draftVersion).toMatchObject({
      id: created.draftVersion.id,
      version: "draft",
      config: replaced,
    });

    const versions = await versionsOf(created.id);
    expect(versions.find((v) => v.version === "draft")?.config).toEqual(replaced);
    expect(versions.find((v) => v.id === v1.id)?.config).toEqual(original);
    const listed = (await listProcessors({ maxPageSize: 1000 })).processors;
    expect(listed.find((p) => p.id === created.id)?.name).toBe("After");
  });

  test("renames without touching the draft config when no config is given", async () => {
    const config = extractConfig("a", "b");
    const created = await createProcessor({ name: "Old", type: "EXTRACT", config });
    const { data } = await t.client.POST("/processors/{id}", {
      params: { path: { id: created.id } },
      body: { name: "New" },
    });
    expect(data?.processor.name).toBe("New");
    expect(data?.processor.draftVersion.config).toEqual(config);
  });

  test("refuses a config of the wrong type with 400 and keeps the draft", async () => {
    const config = classifyConfig("invoice");
    const created = await createProcessor({ name: "Typed", type: "CLASSIFY", config });
    const { status, body } = await t.request("POST", `/processors/${created.id}`, {
      body: { config: extractConfig("a") },
    });
    expect(status).toBe(400);
    expect(body.error).toMatch(/config\.type is "EXTRACT" but the processor's type is "CLASSIFY"/);
    const draft = (await versionsOf(created.id)).find((v) => v.version === "draft");
    expect(draft?.config).toEqual(config);
  });

  test("answers 404 for an unknown processor", async () => {
    const { status, body } = await t.request("POST", "/processors/dp_nope", {
      body: { name: "X" },
    });
    expect(status).toBe(404);
    expect(body.error).toContain("dp_nope");
  });
});

describe("POST /processors/{id}/publish", () => {
  test('numbers versions "1.0" first, then a minor release "1.1" and a major one "2.0"', async () => {
    const created = await createProcessor({
      name: "Numbered",
      type: "CLASSIFY",
      config: classifyConfig("invoice"),
    });
    const first = await publish(created.id, { releaseType: "minor" });
    expect(first).toMatchObject({
      object: "document_processor_version",
      processorId: created.id,
      processorType: "CLASSIFY",
      version: "1.0",
      config: classifyConfig("invoice"),
    });
    expect(first.id).toMatch(/^dpv_/);
    expect((await publish(created.id, { releaseType: "minor" })).version).toBe("1.1");
    expect((await publish(created.id, { releaseType: "major" })).version).toBe("2.0");
    expect((await publish(created.id, { releaseType: "minor" })).version).toBe("2.1");
  });

  test("publishes the given config and description rather than the draft's", async () => {
    const created = await createProcessor({
      name: "With config",
      type: "EXTRACT",
      config: extractConfig("a"),
    });
    const version = await publish(created.id, {
      releaseType: "major",
      description: "only b",
      config: extractConfig("b"),
    });
    expect(version).toMatchObject({
      version: "1.0",
      description: "only b",
      config: extractConfig("b"),
    });
    const draft = (await versionsOf(created.id)).find((v) => v.version === "draft");
    expect(draft?.config).toEqual(extractConfig("a"));
  });

  test.each([
    ['releaseType "patch"', { releaseType: "patch" }, /body\.releaseType must be one of/],
    ["no releaseType", {}, /body\.releaseType is required/],
    [
      "a config of the wrong type",
      { releaseType: "major", config: extractConfig("a") },
      /config\.type is "EXTRACT" but the processor's type is "CLASSIFY"/,
    ],
  ])("refuses %s with 400 and publishes nothing", async (_name, body, message) => {
    const created = await createProcessor({
      name: "Refused",
      type: "CLASSIFY",
      config: classifyConfig("invoice"),
    });
    const { status, body: error } = await t.request("POST", `/processors/${created.id}/publish`, {
      body,
    });
    expect(status).toBe(400);
    expect(error.error).toMatch(message);
    expect((await versionsOf(created.id)).map((v) => v.version)).toEqual(["draft"]);
  });

  test("answers 404 for an unknown processor", async () => {
    const { status, body } = await t.request("POST", "/processors/dp_nope/publish", {
      body: { releaseType: "major" },
    });
    expect(status).toBe(404);
    expect(body.error).toContain("dp_nope");
  });
});

describe("GET /processors/{id}/versions", () => {
  test("lists the published versions newest first, and the draft", async () => {
    const created = await createProcessor({
      name: "Versions",
      type: "CLASSIFY",
      config: classifyConfig("invoice"),
    });
    const published = [
      await publish(created.id, { releaseType: "major" }),
      await publish(created.id, { releaseType: "minor" }),
      await publish(created.id, { releaseType: "major" }),
    ];
    const versions = await versionsOf(created.id);
    expect(versions.filter((v) => v.version === "draft").map((v) => v.id)).toEqual([
      created.draftVersion.id,
    ]);
    const numbered = versions.filter((v) => v.version !== "draft");
    expect(numbered.map((v) => v.version)).toEqual(["2.0", "1.1", "1.0"]);
    expect(numbered.map((v) => v.id)).toEqual(published.map((v) => v.id).reverse());
    for (const v of versions) expect(v).toMatchObject({ processorId: created.id });
  });

  test("answers 404 for an unknown processor", async () => {
    const { status, body } = await t.request("GET", "/processors/dp_nope/versions");
    expect(status).toBe(404);
    expect(body.error).toContain("dp_nope");
  });
});

describe("GET /processors/{processorId}/versions/{processorVersionId}", () => {
  test("answers a published or draft version under the key `version`", async () => {
    const versions = await versionsOf(extractorId);
    for (const expected of versions) {
      const { data, error } = await t.client.GET(
        "/processors/{processorId}/versions/{processorVersionId}",
        { params: { path: { processorId: extractorId, processorVersionId: expected.id } } },
      );
      expect(error).toBeUndefined();
      expect(data).toEqual({ success: true, version: expected });
    }
    expect(versions.map((v) => v.version).sort()).toEqual(["1.0", "draft"]);
  });

  test("answers 404 for a version of another processor, an unknown version or processor", async () => {
    const ofClassifier = (await versionsOf(classifierId))[0]!.id;
    const ofExtractor = (await versionsOf(extractorId))[0]!.id;
    for (const path of [
      `/processors/${extractorId}/versions/${ofClassifier}`,
      `/processors/${extractorId}/versions/dpv_nope`,
      `/processors/dp_nope/versions/${ofExtractor}`,
    ]) {
      const { status, body } = await t.request("GET", path);
      expect(status, path).toBe(404);
      expect(body.code).toBe("NOT_FOUND");
    }
  });
});

describe("processor runs and versions", () => {
  test('a run with version "latest" (or none) uses the newest published version', async () => {
    const created = await createProcessor({
      name: "Latest",
      type: "CLASSIFY",
      config: classifyConfig("invoice", "receipt"),
    });
    await publish(created.id, { releaseType: "major" });
    const newest = await publish(created.id, {
      releaseType: "minor",
      config: classifyConfig("receipt", "invoice"),
    });
    for (const version of ["latest", undefined]) {
      const { data } = await t.client.POST("/processor_runs", {
        body: { processorId: created.id, rawText: invoiceText(1), version, sync: true },
      });
      expect(data?.processorRun.processorVersionId).toBe(newest.id);
      expect(data?.processorRun.config).toEqual(newest.config);
      expect(data?.processorRun.output).toMatchObject({ id: "invoice" });
    }
  });

  test('a run with version "latest" uses the draft while nothing is published', async () => {
    const created = await createProcessor({
      name: "Unpublished",
      type: "CLASSIFY",
      config: classifyConfig("invoice"),
    });
    const { data } = await t.client.POST("/processor_runs", {
      body: { processorId: created.id, rawText: "x", version: "latest" },
    });
    expect(data?.processorRun.processorVersionId).toBe(created.draftVersion.id);
    const missing = await t.request("POST", "/processor_runs", {
      body: { processorId: created.id, rawText: "x", version: "1.0" },
    });
    expect(missing.status).toBe(404);
  });
});
