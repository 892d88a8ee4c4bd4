import { describe, expect, it } from "vitest";
import { type ChunkInput, chunkIdOf, matchRuns } from "../src/submit.js";

const inputs: ChunkInput[] = [
  { key: "k_text_1", source: { kind: "rawText", rawText: "one" } },
  { key: "k_path", source: { kind: "path", path: "/a.pdf", name: "a.pdf" }, fileId: "file_up" },
  { key: "k_text_2", source: { kind: "rawText", rawText: "two" } },
  { key: "k_url", source: { kind: "url", url: "https://x.test/b.pdf", name: "b.pdf" } },
  { key: "k_id", source: { kind: "fileId", fileId: "file_old" } },
];

describe("matchRuns", () => {
  it("pairs files by id, URLs by name and raw texts by their numbered file names", () => {
    const runs = [
      { chunk: "ck", runId: "run_t2", fileId: "f2", fileName: "raw_text_2.txt" },
      { chunk: "ck", runId: "run_url", fileId: "f9", fileName: "b.pdf" },
      { chunk: "ck", runId: "run_id", fileId: "file_old", fileName: "c.pdf" },
      { chunk: "ck", runId: "run_t1", fileId: "f1", fileName: "raw_text_1.txt" },
      { chunk: "ck", runId: "run_path", fileId: "file_up", fileName: "a.pdf" },
    ];
    expect(new Map(matchRuns(inputs, runs))).toEqual(
      new Map([
        ["k_path", "run_path"],
        ["k_url", "run_url"],
        ["k_id", "run_id"],
        ["k_text_1", "run_t1"],
        ["k_text_2", "run_t2"],
      ]),
    );
  });

  it("pairs texts by number when two attempts both landed, leaving one run per input over", () => {
    const attempt = (tag: string) => [
      { chunk: "ck", runId: `run_path_${tag}`, fileId: "file_up", fileName: "a.pdf" },
      { chunk: "ck", runId: `run_t1_${tag}`, fileId: `f1${tag}`, fileName: "raw_text_1.txt" },
      { chunk: "ck", runId: `run_t2_${tag}`, fileId: `f2${tag}`, fileName: "raw_text_2.txt" },
    ];
    const mixed = inputs.filter((i) => i.key !== "k_url" && i.key !== "k_id");
    const pairs = new Map(matchRuns(mixed, [...attempt("a"), ...attempt("b")]));
    // Each input gets a run of its own kind; the file's second run is not taken for a text.
    expect(pairs).toEqual(
      new Map([
        ["k_path", "run_path_a"],
        ["k_text_1", "run_t1_a"],
        ["k_text_2", "run_t2_a"],
      ]),
    );
    // What is left pairs the same way: the second runs, each with its own input.
    expect(new Map(matchRuns(mixed, attempt("b")))).toEqual(
      new Map([
        ["k_path", "run_path_b"],
        ["k_text_1", "run_t1_b"],
        ["k_text_2", "run_t2_b"],
      ]),
    );
  });

  it("pairs a partial set of texts by their numbers, not their order", () => {
    const pairs = matchRuns(inputs, [
      { chunk: "ck", runId: "run_t2", fileId: "f2", fileName: "raw_text_2.txt" },
    ]);
    expect(pairs).toEqual([["k_text_2", "run_t2"]]);
  });

  it("leaves inputs without a run unpaired, so they can be sent again", () => {
    const pairs = matchRuns(inputs, [{ chunk: "ck", runId: "run_id", fileId: "file_old" }]);
    expect(pairs).toEqual([["k_id", "run_id"]]);
  });
});

describe("chunkIdOf", () => {
  it("depends on the keys and their order only", () => {
    expect(chunkIdOf(inputs)).toBe(chunkIdOf(inputs.map((i) => ({ ...i }))));
    expect(chunkIdOf(inputs)).not.toBe(chunkIdOf([...inputs].reverse()));
    expect(chunkIdOf(inputs)).toMatch(/^ck_[\w-]{22}$/);
  });
});
