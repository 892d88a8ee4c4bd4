import { describe, expect, it } from "vitest";
import { InvalidInputError, inputLabel, keyOf, prepareInput } from "../src/inputs.js";

describe("prepareInput", () => {
  it.each([
    [
      "a string path, made absolute",
      "docs/a.pdf",
      { kind: "path", path: "/work/docs/a.pdf", name: "a.pdf" },
    ],
    [
      "a URL string",
      "https://x.test/files/b%20c.pdf",
      { kind: "url", url: "https://x.test/files/b%20c.pdf", name: "b c.pdf" },
    ],
    ["a path object", { path: "/tmp/c.pdf" }, { kind: "path", path: "/tmp/c.pdf", name: "c.pdf" }],
    [
      "a URL object with a name",
      { url: "https://x.test/d", fileName: "d.pdf" },
      { kind: "url", url: "https://x.test/d", name: "d.pdf" },
    ],
    ["a file id", { fileId: "file_1" }, { kind: "fileId", fileId: "file_1" }],
    ["a raw text", { rawText: "Invoice 1" }, { kind: "rawText", rawText: "Invoice 1" }],
  ] as const)("reads %s", (_, input, source) => {
    expect(prepareInput(input as never, "/work").source).toEqual(source);
  });

  it("gives the same input the same key every time, and different inputs different keys", () => {
    const a = prepareInput({ rawText: "Invoice 1" }).key;
    expect(prepareInput({ rawText: "Invoice 1" }).key).toBe(a);
    expect(prepareInput({ rawText: "Invoice 2" }).key).not.toBe(a);
    expect(prepareInput("a.pdf", "/one").key).toBe(prepareInput("/one/a.pdf").key);
    expect(prepareInput("a.pdf", "/one").key).not.toBe(prepareInput("a.pdf", "/two").key);
    expect(keyOf({ kind: "fileId", fileId: "file_1" })).toMatch(/^in_[\w-]{22}$/);
  });

  it("keeps a caller's key and metadata", () => {
    const input = prepareInput({ fileId: "file_1", key: "row-17", metadata: { row: 17 } });
    expect(input).toMatchObject({ key: "row-17", metadata: { row: 17 } });
  });

  it.each([
    ["a number", 42],
    ["an object of no known form", { file: "a.pdf" }],
    ["an empty path", ""],
    ["a bad URL", { url: "not a url" }],
    ["an empty key", { rawText: "x", key: "" }],
  ])("refuses %s with a typed error that says what to give", (_, input) => {
    expect(() => prepareInput(input as never)).toThrow(InvalidInputError);
  });
});

describe("inputLabel", () => {
  it("shortens texts to one line", () => {
    expect(inputLabel({ kind: "rawText", rawText: `Invoice\n${"x".repeat(100)}` })).toMatch(
      /^text: Invoice x+\.\.\.$/,
    );
    expect(inputLabel({ kind: "fileId", fileId: "file_1" })).toBe("file_1");
  });
});
