import { describe, expect, test } from "vitest";
import { extractionSchemaProblem } from "../src/processors/schema-rules.js";
import { startTestEmulator } from "./helpers/harness.js";

const root = (properties: Record<string, unknown>) => ({ type: "object", properties });
const nullable = (type: string) => ({ type: [type, "null"] });

describe("extractionSchemaProblem (brief §7)", () => {
  test.each([
    [
      "nullable primitives",
      root({ a: nullable("string"), b: nullable("number"), c: nullable("boolean") }),
      undefined,
    ],
    [
      "a date and a currency field",
      root({
        d: { ...nullable("string"), "extend:type": "date" },
        t: {
          type: "object",
          "extend:type": "currency",
          properties: { amount: nullable("number") },
        },
      }),
      undefined,
    ],
    [
      "an array of objects",
      root({
        items: { type: "array", items: { type: "object", properties: { x: nullable("integer") } } },
      }),
      undefined,
    ],
    ["an enum with null", root({ e: { enum: ["a", "b", null] } }), undefined],
    ["a non-object root", { type: "array", items: {} }, /root must be an object/],
    [
      "a non-nullable primitive",
      root({ a: { type: "string" } }),
      /schema\.properties\.a: primitive fields must be nullable/,
    ],
    [
      "a key with a space",
      root({ "a b": nullable("string") }),
      /property keys may hold only letters/,
    ],
    ["an enum without null", root({ e: { enum: ["a", "b"] } }), /an enum must include null/],
    ["an enum of numbers", root({ e: { enum: [1, null] } }), /enum values must be strings/],
    ["an unknown type", root({ a: { type: ["date", "null"] } }), /type must be one of/],
    ["an array without items", root({ l: { type: "array" } }), /an array needs items/],
    [
      "a non-nullable primitive inside array items",
      root({
        l: { type: "array", items: { type: "object", properties: { q: { type: "number" } } } },
      }),
      /schema\.properties\.l\.items\.properties\.q: primitive fields must be nullable/,
    ],
    [
      "nesting deeper than 5 levels",
      root({
        a: {
          type: "object",
          properties: {
            b: {
              type: "object",
              properties: {
                c: {
                  type: "object",
                  properties: {
                    d: {
                      type: "object",
                      properties: {
                        e: {
                          type: "object",
                          properties: {
                            f: { type: "object", properties: { g: nullable("string") } },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      }),
      /nested more than 5 levels/,
    ],
  ])("%s", (_name, schema, expected) => {
    const problem = extractionSchemaProblem(schema);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });
});

describe("processor configs over HTTP", () => {
  test("a JSON Schema config that breaks the rules answers 400 naming the field", async () => {
    const t = await startTestEmulator();
    try {
      const { status, body } = await t.request("POST", "/processors", {
        body: {
          name: "bad",
          type: "EXTRACT",
          config: { type: "EXTRACT", schema: root({ total: { type: "number" } }) },
        },
      });
      expect(status).toBe(400);
      expect(body.error).toMatch(
        /body\.config\.schema\.properties\.total: primitive fields must be nullable/,
      );
    } finally {
      await t.close();
    }
  });
});
