/**
 * The client's retry rules against the real emulator over HTTP, with faults injected through
 * its admin API: what is retried, what is not, how many requests are sent, and whether a
 * run-creating request ever creates a duplicate. (The same rules are unit-tested with an
 * injected fetch in packages/core/test/transport.test.ts; these check them end to end.)
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ApiError,
  type ClientOptions,
  createClient,
  isApiError,
  NetworkError,
  RateLimitError,
  TimeoutError,
  uploadFile,
} from "@extendkit/core";
import { uploadFileFromPath } from "@extendkit/core/node";
import { type Emulator, type FaultRule, startEmulator } from "@extendkit/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";

let emulator: Emulator;
/** A run that exists, to GET. */
let runId: string;

const WORKFLOW = "workflow_invoices";
const INVOICE = "ACME Supplies Ltd\nINVOICE\nInvoice Number: INV-0042\nTotal Due: $120.00";

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, pageLatencyMs: 0 });
  const { data, error } = await clientFor().extend.POST("/workflow_runs", {
    body: { workflowId: WORKFLOW, rawTexts: [INVOICE] },
  });
  expect(error).toBeUndefined();
  runId = data!.workflowRuns[0]!.id;
  await emulator.idle();
});

afterEach(async () => {
  vi.useRealTimers();
  await admin("DELETE", "/faults");
});

afterAll(() => emulator?.close());

/** The admin API of the emulator (not part of the Extend API). */
async function admin(method: string, path: string, body?: unknown) {
  const response = await fetch(`${emulator.url}/_emulator${path}`, {
    method,
    headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`admin ${method} ${path} → ${response.status}`);
  return json;
}

/** Injects faults; every rule names its operations so the test's own checks are untouched. */
async function setFaults(...rules: Array<FaultRule & Required<Pick<FaultRule, "operations">>>) {
  const { rules: active } = await admin("PUT", "/faults", { seed: 1, rules });
  expect(active).toHaveLength(rules.length);
}

/**
 * A client whose `fetch` is the real one, wrapped to count what goes on the wire. Backoff
 * waits are 0 ms (`random: () => 0`) unless a test says otherwise.
 */
function clientFor(options: Partial<ClientOptions> = {}) {
  const requests: string[] = [];
  let answered = 0;
  const fetch = async (request: Request) => {
    requests.push(`${request.method} ${new URL(request.url).pathname}`);
    const response = await globalThis.fetch(request);
    answered += 1;
    return response;
  };
  const extend = createClient({
    baseUrl: emulator.url,
    token: emulator.token,
    fetch,
    random: () => 0,
    ...options,
  });
  return {
    extend,
    requests,
    get answered() {
      return answered;
    },
  };
}

const getRun = (extend: ReturnType<typeof clientFor>["extend"]) =>
  extend.GET("/workflow_runs/{workflowRunId}", {
    params: { path: { workflowRunId: runId } },
  });

const runWorkflow = (extend: ReturnType<typeof clientFor>["extend"]) =>
  extend.POST("/workflow_runs", { body: { workflowId: WORKFLOW, rawTexts: [INVOICE] } });

/** The ids of the workflow's runs, through a client of its own (no fault matches the list). */
async function runIds(): Promise<string[]> {
  const { data, error } = await clientFor().extend.GET("/workflow_runs", {
    params: { query: { workflowId: WORKFLOW, maxPageSize: 1000 } },
  });
  expect(error).toBeUndefined();
  expect(data?.nextPageToken).toBeUndefined();
  return data!.workflowRuns.map((run) => run.id);
}

/** The runs created since `before` was listed. */
async function createdSince(before: string[]) {
  const known = new Set(before);
  return (await runIds()).filter((id) => !known.has(id));
}

/** Lets real I/O (the emulator, sockets) progress without moving the fake clock. */
async function realTurn() {
  await vi.advanceTimersByTimeAsync(0);
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Turns the real event loop until `condition` holds (bounded by real time: `performance` is not faked). */
async function until(condition: () => boolean, what: string) {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`still waiting for ${what}`);
    await realTurn();
  }
}

describe("retry-safe operations (GET)", () => {
  test("a GET answered 503 twice succeeds on the third attempt", async () => {
    await setFaults({ type: "status", status: 503, count: 2, operations: ["getWorkflowRun"] });
    const c = clientFor();
    const { data, error, response } = await getRun(c.extend);
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data?.workflowRun.id).toBe(runId);
    expect(c.requests).toEqual([
      `GET /workflow_runs/${runId}`,
      `GET /workflow_runs/${runId}`,
      `GET /workflow_runs/${runId}`,
    ]);
  });

  test("a GET whose connection is reset is retried and succeeds", async () => {
    await setFaults({ type: "reset", count: 1, operations: ["getWorkflowRun"] });
    const c = clientFor();
    const { data, error } = await getRun(c.extend);
    expect(error).toBeUndefined();
    expect(data?.workflowRun.id).toBe(runId);
    expect(c.requests).toHaveLength(2);
  });

  test("with throwOnError, a GET that keeps failing throws an ApiError describing the request", async () => {
    await setFaults({ type: "status", status: 502, operations: ["getWorkflowRun"] });
    const c = clientFor({ throwOnError: true });
    const thrown = await getRun(c.extend).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(ApiError);
    expect(isApiError(thrown)).toBe(true);
    expect(thrown).toMatchObject({
      status: 502,
      code: "INTERNAL_ERROR",
      requestId: expect.stringMatching(/^req_/),
      method: "GET",
      url: `${emulator.url}/workflow_runs/${runId}`,
      attempts: 3,
      success: false,
    });
    expect(c.requests).toHaveLength(3);
  });

  test("the retry budget stops retries: budget 5 at 5 per retry allows one retry", async () => {
    await setFaults({ type: "status", status: 503, operations: ["getWorkflowRun"] });
    const c = clientFor({ retry: { budget: 5, retryCost: 5 } });
    const { error } = await getRun(c.extend);
    expect(isApiError(error)).toBe(true);
    expect(error).toMatchObject({ status: 503, attempts: 2 });
    expect(c.requests).toHaveLength(2);

    // The budget is spent: the client's next failing call is not retried at all.
    const again = await getRun(c.extend);
    expect(again.error).toMatchObject({ status: 503, attempts: 1 });
    expect(c.requests).toHaveLength(3);
  });
});

describe("run-creating operations (runWorkflow)", () => {
  test("a 500 is not retried (the run may exist), and the fault answered before the work: no run", async () => {
    const before = await runIds();
    await setFaults({ type: "status", status: 500, count: 1, operations: ["runWorkflow"] });
    const c = clientFor();
    const { data, error } = await runWorkflow(c.extend);
    expect(data).toBeUndefined();
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 500, attempts: 1, method: "POST" });
    expect(c.requests).toEqual(["POST /workflow_runs"]);
    expect(await createdSince(before)).toEqual([]);
  });

  test("a 429 is retried (the request was not handled), and exactly one run is created", async () => {
    const before = await runIds();
    await setFaults({ type: "rate-limit", count: 1, operations: ["runWorkflow"] });
    const c = clientFor();
    const { data, error } = await runWorkflow(c.extend);
    expect(error).toBeUndefined();
    expect(c.requests).toEqual(["POST /workflow_runs", "POST /workflow_runs"]);
    const created = await createdSince(before);
    expect(created).toEqual([data!.workflowRuns[0]!.id]);
  });

  test("a 503 is retried (the request was not handled), and exactly one run is created", async () => {
    const before = await runIds();
    await setFaults({ type: "status", status: 503, count: 1, operations: ["runWorkflow"] });
    const c = clientFor();
    const { data, error } = await runWorkflow(c.extend);
    expect(error).toBeUndefined();
    expect(c.requests).toHaveLength(2);
    expect(await createdSince(before)).toEqual([data!.workflowRuns[0]!.id]);
  });

  test("a lost response is an ambiguous NetworkError, not retried: the one run exists, no duplicate", async () => {
    const before = await runIds();
    await setFaults({ type: "lost-response", count: 1, operations: ["runWorkflow"] });
    const c = clientFor();
    const thrown = await runWorkflow(c.extend).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(NetworkError);
    expect(thrown).not.toBeInstanceOf(TimeoutError);
    expect(thrown).toMatchObject({ ambiguous: true, attempts: 1, method: "POST" });
    expect((thrown as Error).message).toMatch(/may have been applied/);
    expect(c.requests).toEqual(["POST /workflow_runs"]);
    expect(await createdSince(before)).toHaveLength(1);
  });

  test("a reset is an ambiguous NetworkError, not retried; the reset came before the work: no run", async () => {
    const before = await runIds();
    await setFaults({ type: "reset", count: 1, operations: ["runWorkflow"] });
    const c = clientFor();
    const thrown = await runWorkflow(c.extend).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(NetworkError);
    expect(thrown).toMatchObject({ ambiguous: true, attempts: 1 });
    expect(c.requests).toHaveLength(1);
    expect(await createdSince(before)).toEqual([]);
  });
});

describe("Retry-After", () => {
  test("a 429 with Retry-After: 2 is sent again after exactly 2 s (fake clock)", async () => {
    await setFaults({
      type: "rate-limit",
      retryAfter: 2,
      count: 1,
      operations: ["getWorkflowRun"],
    });
    // Only the client's clock is faked: the emulator's loop runs on setImmediate and sockets.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const waits: unknown[] = [];
    const c = clientFor({
      logging: {
        level: "warn",
        sink: (_level, message, fields) => {
          if (message.includes("retrying")) waits.push(fields.waitMs);
        },
      },
    });
    let settled = false;
    const pending = getRun(c.extend).finally(() => {
      settled = true;
    });
    await until(() => c.answered === 1 && waits.length === 1, "the first answer");
    expect(waits).toEqual([2000]);
    // Let the client start its wait, still at the same fake instant.
    for (let i = 0; i < 20; i++) await realTurn();
    expect(c.requests).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(1999);
    for (let i = 0; i < 20; i++) await realTurn();
    expect(c.requests).toHaveLength(1);
    expect(settled).toBe(false);

    await vi.advanceTimersByTimeAsync(1);
    await until(() => settled, "the retried request");
    expect(c.requests).toHaveLength(2);
    const { data, error } = await pending;
    expect(error).toBeUndefined();
    expect(data?.workflowRun.id).toBe(runId);
  });

  test("a Retry-After longer than maxRetryAfterMs ends at once with a RateLimitError and its retryAt", async () => {
    await setFaults({ type: "rate-limit", retryAfter: 120, operations: ["getWorkflowRun"] });
    const c = clientFor();
    const { error } = await getRun(c.extend);
    const now = Date.now();
    expect(error).toBeInstanceOf(RateLimitError);
    const limited = error as RateLimitError;
    expect(limited).toMatchObject({ status: 429, code: "RATE_LIMIT_EXCEEDED", attempts: 1 });
    expect(limited.retryAt).toBeInstanceOf(Date);
    const ahead = limited.retryAt!.getTime() - now;
    expect(ahead).toBeGreaterThan(115_000);
    expect(ahead).toBeLessThanOrEqual(120_000);
    expect(c.requests).toHaveLength(1);
  });
});

/**
 * Without a `fetch` option the client hands the runtime's fetch a URL and init rather than
 * a Request it built; the same rules hold on that path.
 */
describe("with the runtime's own fetch (no fetch option)", () => {
  const direct = (options: Partial<ClientOptions> = {}) =>
    createClient({ baseUrl: emulator.url, token: emulator.token, random: () => 0, ...options });

  test("a GET answered 503 twice succeeds on the third attempt, spending both faults", async () => {
    await setFaults({ type: "status", status: 503, count: 2, operations: ["getWorkflowRun"] });
    const { data, error } = await getRun(direct());
    expect(error).toBeUndefined();
    expect(data?.workflowRun.id).toBe(runId);
    expect((await admin("GET", "/faults")).rules).toEqual([]);
  });

  test("a POST sends its JSON body: the run it creates exists, once", async () => {
    const before = await runIds();
    const { data, error } = await runWorkflow(direct());
    expect(error).toBeUndefined();
    expect(await createdSince(before)).toEqual([data!.workflowRuns[0]!.id]);
  });

  test("an attempt with no answer in time is a TimeoutError", async () => {
    await setFaults({ type: "latency", ms: 30_000, operations: ["getWorkflowRun"] });
    const error = await getRun(direct({ timeoutMs: 200, retry: false })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ scope: "attempt", attempts: 1, ambiguous: true });
  });

  test("aborting a request in flight rejects with the abort reason", async () => {
    await setFaults({ type: "latency", ms: 30_000, operations: ["getWorkflowRun"] });
    const controller = new AbortController();
    const reason = new Error("the user left");
    const pending = direct()
      .GET("/workflow_runs/{workflowRunId}", {
        params: { path: { workflowRunId: runId } },
        signal: controller.signal,
      })
      .catch((e: unknown) => e);
    setTimeout(() => controller.abort(reason), 50);
    expect(await pending).toBe(reason);
  });
});

describe("uploads answered before their body was read", () => {
  // Node 24's fetch pushes a FormData or Blob body into the request from a detached task;
  // when the server answers first (here a 500, before the emulator reads the upload), that
  // task throws "ReadableStream is already closed" as an unhandled rejection and the process
  // dies. uploadFile hands fetch its own pull-based stream instead. Run on Node 20, 22 and 24
  // (`pnpm test:node-matrix`); on Node 24 the old FormData body failed this test.
  test("get their error answer, and leave nothing unhandled behind", async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", record);
    try {
      await admin("PUT", "/faults", {
        rules: [{ type: "status", status: 500, operations: ["uploadFile"] }],
      });
      const { extend } = clientFor({ retry: false });
      // A file on disk, as the batch runner uploads them: read in chunks, asynchronously, so
      // the body is still being sent when the answer comes.
      const dir = await mkdtemp(path.join(tmpdir(), "extendkit-early-answer-"));
      const file = path.join(dir, "big.pdf");
      await writeFile(file, new Uint8Array(4 * 1024 * 1024).fill(7));
      const answers = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          uploadFileFromPath(extend, file, { name: `big-${i}.pdf` }),
        ),
      );
      expect(answers.map((a) => a.error?.status)).toEqual(Array(24).fill(500));
      // The detached task's failure, when there is one, comes a few turns later.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);

      await admin("DELETE", "/faults");
      const ok = await uploadFileFromPath(extend, file, { name: "big-ok.pdf" });
      expect(ok.error).toBeUndefined();
      expect(ok.data?.file.name).toBe("big-ok.pdf");
      const fromBytes = await uploadFile(extend, new Uint8Array([37, 80, 68, 70]), {
        name: "tiny.pdf",
      });
      expect(fromBytes.data?.file.name).toBe("tiny.pdf");
      await rm(dir, { recursive: true, force: true });
    } finally {
      process.off("unhandledRejection", record);
    }
  });
});
