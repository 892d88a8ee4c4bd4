import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openFileJournal } from "../src/file-journal.js";
import { prepareInput } from "../src/inputs.js";
import { type BatchJournal, createMemoryJournal, JournalMismatchError } from "../src/journal.js";
import type { BatchOutcome } from "../src/types.js";
import { scratch } from "./helpers.js";

const job = { workflowId: "workflow_a", mode: "runs" as const };
const input = (text: string) => prepareInput({ rawText: text });
const outcome = (key: string, runId: string): BatchOutcome => ({
  key,
  input: key,
  status: "PROCESSED",
  runId,
  finishedAt: "2026-11-30T00:00:00.000Z",
});

describe.each([
  ["the memory journal", () => createMemoryJournal()],
  ["the file journal", () => openFileJournal(join(scratch(), "j", "job.journal"))],
] as Array<[string, () => BatchJournal]>)("%s", (_, make) => {
  it("tells new inputs, duplicates, and inputs of an earlier process apart", async () => {
    const journal = make();
    const { epoch } = await journal.open(job);
    expect(await journal.claim(input("a"), epoch)).toEqual({ state: "new" });
    expect(await journal.claim(input("a"), epoch)).toEqual({ state: "duplicate" });
    const next = await journal.open(job);
    expect(next.inputs).toBe(1);
    const again = await journal.claim(input("a"), next.epoch);
    expect(again.state).toBe("known");
    expect(again.state === "known" && again.entry.source).toEqual({
      kind: "rawText",
      rawText: "a",
    });
    await journal.close();
  });

  it("records a chunk before it is sent, then its runs, then each outcome once", async () => {
    const journal = make();
    const { epoch } = await journal.open(job);
    const [a, b] = [input("a"), input("b")];
    await journal.claim(a, epoch);
    await journal.claim(b, epoch);
    await journal.beginChunk({ id: "ck_1", attemptAt: 5, keys: [a.key, b.key] });
    expect(await journal.openChunks()).toEqual([{ id: "ck_1", state: "pending", attemptAt: 5 }]);
    await journal.chunkSubmitted("ck_1", {
      runs: [
        [a.key, "run_a"],
        [b.key, "run_b"],
      ],
    });
    expect(await journal.keyOfRun("run_b")).toBe(b.key);
    expect((await journal.chunkEntries("ck_1")).map((e) => e.runId)).toEqual(["run_a", "run_b"]);
    expect(await journal.finish(outcome(b.key, "run_b"))).toBe(true);
    expect(await journal.finish(outcome(b.key, "run_b"))).toBe(false);
    expect((await journal.openChunks()).map((c) => c.state)).toEqual(["submitted"]);
    await journal.finish(outcome(a.key, "run_a"));
    expect(await journal.openChunks()).toEqual([]);
    const all: BatchOutcome[] = [];
    for await (const o of journal.outcomes()) all.push(o);
    expect(all.map((o) => o.runId)).toEqual(["run_a", "run_b"]);
    await journal.close();
  });

  it("finds a batch's chunk, and frees the inputs of a dropped chunk", async () => {
    const journal = make();
    const { epoch } = await journal.open({ ...job, mode: "batch" });
    const a = input("a");
    await journal.claim(a, epoch);
    await journal.beginChunk({ id: "ck_1", attemptAt: 1, keys: [a.key] });
    await journal.chunkSubmitted("ck_1", { batchId: "batch_1" });
    expect(await journal.chunkOfBatch("batch_1")).toBe("ck_1");
    await journal.beginChunk({ id: "ck_2", attemptAt: 2, keys: [a.key] });
    await journal.dropChunk("ck_2");
    expect((await journal.entry(a.key))?.chunkId).toBeUndefined();
    await journal.close();
  });

  it("refuses to be reused for another workflow or mode", async () => {
    const journal = make();
    await journal.open(job);
    await expect(journal.open({ ...job, workflowId: "workflow_b" })).rejects.toThrow(
      JournalMismatchError,
    );
    await expect(journal.open({ ...job, mode: "batch" })).rejects.toThrow(/runs mode/);
    await journal.close();
  });
});

describe("openFileJournal", () => {
  it("keeps everything across a close and a reopen, as after a crash", async () => {
    const path = join(scratch(), "job.journal");
    const first = openFileJournal(path);
    const { epoch } = await first.open(job);
    const a = input("a");
    await first.claim(a, epoch);
    await first.setFile(a.key, "file_1");
    await first.beginChunk({ id: "ck_1", attemptAt: 9, keys: [a.key] });
    await first.close();
    const second = openFileJournal(path);
    const reopened = await second.open(job);
    expect(reopened).toEqual({ inputs: 1, epoch: epoch + 1 });
    expect(await second.entry(a.key)).toMatchObject({
      fileId: "file_1",
      chunkId: "ck_1",
      finished: false,
    });
    expect(await second.openChunks()).toEqual([{ id: "ck_1", state: "pending", attemptAt: 9 }]);
    await second.close();
  });
});
