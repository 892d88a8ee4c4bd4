import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type FaultOptions, parseFaults, seededRandom } from "../src/faults.js";
import { createRateLimiter, parseRateLimit, type RateCategory } from "../src/rate-limit.js";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

let t: TestEmulator;

/**
 * Plain HTTP to the emulated API, without the spec check: injected faults answer statuses
 * (such as 503) that the spec does not declare, on purpose.
 */
async function raw(target: TestEmulator, method: string, path: string, body?: unknown) {
  const response = await fetch(target.emulator.url + path, {
    method,
    headers: {
      authorization: `Bearer ${target.emulator.token}`,
      "x-extend-api-version": "2025-04-21",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}

/** A workflow of its own (no steps), so a test can count exactly the runs it created. */
async function newWorkflow(name = "Faults") {
  const { data } = await t.client.POST("/workflows", { body: { name } });
  return data!.workflow.id;
}

async function runsOf(workflowId: string) {
  const { data } = await t.client.GET("/workflow_runs", { params: { query: { workflowId } } });
  return data!.workflowRuns;
}

const runBody = (workflowId: string) => ({ workflowId, rawTexts: ["Invoice INV-1 total $5"] });

describe("rate limits (admin API)", () => {
  beforeEach(async () => {
    t = await startTestEmulator();
    // The first call of each operation compiles its validators; do that before any bucket
    // is set, so the limited requests below follow each other quickly (a bucket refills
    // one request in 1/rate seconds).
    await t.request("POST", "/workflow_runs", { body: runBody("workflow_invoices") });
    await t.request("GET", "/workflow_runs");
    await t.request("GET", "/files");
    await t.request("POST", "/workflows", { body: { name: "warm-up" } });
  });
  afterEach(() => t.close());

  test("with run: 2, the third quick POST /workflow_runs answers 429 RATE_LIMIT_EXCEEDED with an integer Retry-After of at least 1, and creates no run", async () => {
    const workflowId = await newWorkflow();
    expect(await t.admin("PUT", "/rate_limits", { run: 2 })).toEqual({ limits: { run: 2 } });
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push(await t.request("POST", "/workflow_runs", { body: runBody(workflowId) }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    const limited = answers[2]!;
    expect(limited.body).toMatchObject({
      success: false,
      code: "RATE_LIMIT_EXCEEDED",
      retryable: true,
    });
    const retryAfter = limited.headers.get("retry-after");
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(await runsOf(workflowId)).toHaveLength(2);
  });

  test("reads, writes and run creation are limited in separate buckets", async () => {
    await t.admin("PUT", "/rate_limits", { get: 1, run: 1 });
    const statuses = {
      run1: (await t.request("POST", "/workflow_runs", { body: runBody("workflow_invoices") }))
        .status,
      run2: (await t.request("POST", "/workflow_runs", { body: runBody("workflow_invoices") }))
        .status,
      get1: (await t.request("GET", "/workflow_runs")).status,
      get2: (await t.request("GET", "/files")).status,
      write: (await t.request("POST", "/workflows", { body: { name: "w" } })).status,
    };
    expect(statuses).toEqual({ run1: 200, run2: 429, get1: 200, get2: 429, write: 200 });
  });

  test("exhausting the run bucket leaves GETs served", async () => {
    await t.admin("PUT", "/rate_limits", { run: 1 });
    expect(
      (await t.request("POST", "/workflow_runs", { body: runBody("workflow_invoices") })).status,
    ).toBe(200);
    expect(
      (await t.request("POST", "/workflow_runs", { body: runBody("workflow_invoices") })).status,
    ).toBe(429);
    for (let i = 0; i < 5; i++) expect((await t.request("GET", "/workflow_runs")).status).toBe(200);
  });

  test("DELETE /rate_limits lifts every limit", async () => {
    await t.admin("PUT", "/rate_limits", { run: 1 });
    await t.request("POST", "/workflow_runs", { body: runBody("workflow_invoices") });
    expect(
      (await t.request("POST", "/workflow_runs", { body: runBody("workflow_invoices") })).status,
    ).toBe(429);
    expect(await t.admin("DELETE", "/rate_limits")).toEqual({ limits: {} });
    expect(await t.admin("GET", "/rate_limits")).toEqual({ limits: {} });
    for (let i = 0; i < 3; i++)
      expect(
        (await t.request("POST", "/workflow_runs", { body: runBody("workflow_invoices") })).status,
      ).toBe(200);
  });

  test("a limit given at start-up applies from the first request", async () => {
    const limited = await startTestEmulator({ rateLimit: { get: 1 } });
    try {
      expect((await limited.request("GET", "/files")).status).toBe(200);
      const second = await limited.request("GET", "/files");
      expect(second.status).toBe(429);
      expect(second.headers.get("retry-after")).toBe("1");
    } finally {
      await limited.close();
    }
  });
});

describe("createRateLimiter (injected clock)", () => {
  function limiterAt(options: Parameters<typeof createRateLimiter>[0]) {
    let now = 1_000_000;
    const limiter = createRateLimiter(options, () => now);
    return {
      limiter,
      advance(ms: number) {
        now += ms;
      },
    };
  }

  test("lets `rate` requests through at once, then asks to wait", () => {
    const { limiter } = limiterAt({ run: 3 });
    expect([1, 2, 3, 4].map(() => limiter.take("run"))).toEqual([0, 0, 0, 1]);
  });

  test("refills continuously: one more request passes after 1/rate seconds, not before", () => {
    const { limiter, advance } = limiterAt({ write: 2 });
    expect([limiter.take("write"), limiter.take("write")]).toEqual([0, 0]);
    advance(499);
    expect(limiter.take("write")).toBe(1);
    advance(1);
    expect(limiter.take("write")).toBe(0);
    expect(limiter.take("write")).toBe(1);
  });

  test("holds at most one second of requests however long it stays idle", () => {
    const { limiter, advance } = limiterAt({ get: 2 });
    limiter.take("get");
    advance(3_600_000);
    expect([1, 2, 3].map(() => limiter.take("get"))).toEqual([0, 0, 1]);
  });

  test("a refused request does not use up what has refilled", () => {
    const { limiter, advance } = limiterAt({ run: 1 });
    expect(limiter.take("run")).toBe(0);
    advance(500);
    expect(limiter.take("run")).toBe(1);
    advance(500);
    expect(limiter.take("run")).toBe(0);
  });

  test("a rate below one per second still lets one request through every 1/rate seconds", () => {
    const { limiter, advance } = limiterAt({ run: 0.5 });
    expect(limiter.take("run")).toBe(0);
    expect(limiter.take("run")).toBe(2);
    advance(2000);
    expect(limiter.take("run")).toBe(0);
  });

  test("keeps a separate bucket per category", () => {
    const { limiter } = limiterAt({ get: 1, write: 1, run: 1 });
    const order: RateCategory[] = ["get", "get", "write", "run", "write", "run"];
    expect(order.map((c) => limiter.take(c))).toEqual([0, 1, 0, 0, 1, 1]);
  });

  test.each([
    ["no options", false as const],
    ["an empty object", {}],
    ["a zero rate", { get: 0 }],
    ["a negative rate", { get: -3 }],
  ])("never limits a category with %s", (_name, options) => {
    const { limiter } = limiterAt(options);
    expect(Array.from({ length: 100 }, () => limiter.take("get"))).toEqual(Array(100).fill(0));
  });

  test("set() replaces the limits and starts every bucket full", () => {
    const { limiter } = limiterAt({ get: 1 });
    limiter.take("get");
    expect(limiter.take("get")).toBe(1);
    limiter.set({ get: 2 });
    expect(limiter.limits).toEqual({ get: 2 });
    expect([limiter.take("get"), limiter.take("get"), limiter.take("get")]).toEqual([0, 0, 1]);
    limiter.set(false);
    expect(limiter.limits).toEqual({});
    expect(limiter.take("get")).toBe(0);
  });

  // Retry-After is whole seconds, rounded up, never below 1.
  test.each([
    [10, 0, 1],
    [2, 0, 1],
    [1, 0, 1],
    [1, 200, 1],
    [1, 999, 1],
    [0.5, 0, 2],
    [0.5, 1000, 1],
    [0.25, 0, 4],
    [0.25, 1000, 3],
    [0.25, 2500, 2],
    [0.25, 3999, 1],
  ])("at %s/s, %i ms after the bucket emptied, Retry-After is %i", (rate, elapsed, expected) => {
    const { limiter, advance } = limiterAt({ run: rate });
    let allowed = 0;
    while (limiter.take("run") === 0 && allowed < 1000) allowed += 1;
    expect(allowed).toBe(Math.max(1, Math.floor(rate)));
    advance(elapsed);
    expect(limiter.take("run")).toBe(expected);
  });
});

describe("parseRateLimit", () => {
  test.each([
    ["get=50,write=20,run=5", { get: 50, write: 20, run: 5 }],
    ["run=5", { run: 5 }],
    [" get=10 , run=2 ", { get: 10, run: 2 }],
    ["run=0.5", { run: 0.5 }],
    ["get=1,", { get: 1 }],
    ["", {}],
  ])("parses %j into %j", (text, expected) => {
    expect(parseRateLimit(text)).toEqual(expected);
  });

  test.each([
    ["get"],
    ["get="],
    ["get=0"],
    ["get=-1"],
    ["get=abc"],
    ["read=5"],
    ["get=5=6"],
    ["get=Infinity"],
    ["get=5;run=2"],
  ])("refuses %j with an error naming the entry and the expected form", (text) => {
    expect(() => parseRateLimit(text)).toThrow(
      `--rate-limit: expected entries like get=50,write=20,run=5; got "${text}"`,
    );
  });
});

describe("parseFaults", () => {
  test.each([
    ["status=503@0.05", [{ type: "status", status: 503, probability: 0.05 }]],
    ["reset@0.01", [{ type: "reset", probability: 0.01 }]],
    ["latency=200@0.1", [{ type: "latency", ms: 200, probability: 0.1 }]],
    ["lost-response#1", [{ type: "lost-response", count: 1 }]],
    ["rate-limit=2@0.02", [{ type: "rate-limit", retryAfter: 2, probability: 0.02 }]],
    ["status", [{ type: "status" }]],
    ["status=500@1#3", [{ type: "status", status: 500, probability: 1, count: 3 }]],
    ["latency@0", [{ type: "latency", probability: 0 }]],
    [
      "status=503@0.05, reset@0.01,latency=200@0.1,lost-response#1,rate-limit=2@0.02",
      [
        { type: "status", status: 503, probability: 0.05 },
        { type: "reset", probability: 0.01 },
        { type: "latency", ms: 200, probability: 0.1 },
        { type: "lost-response", count: 1 },
        { type: "rate-limit", retryAfter: 2, probability: 0.02 },
      ],
    ],
    ["", []],
  ])("parses %j into the rules it names", (text, rules) => {
    expect(parseFaults(text)).toEqual({ rules });
  });

  test("keeps the seed when one is given", () => {
    expect(parseFaults("reset", 7)).toEqual({ seed: 7, rules: [{ type: "reset" }] });
  });

  test.each([
    ["explode", /cannot read "explode"; use type\[=value\]\[@probability\]\[#count\]/],
    ["status=abc", /cannot read "status=abc"/],
    ["status@", /cannot read "status@"/],
    ["status#", /cannot read "status#"/],
    ["STATUS=500", /cannot read "STATUS=500"/],
    ["status@1.5", /"status@1\.5".*probability must be between 0 and 1/],
    ["status@0.1.2", /"status@0\.1\.2".*probability must be between 0 and 1/],
    ["reset=5", /"reset=5".*reset takes no value/],
    ["lost-response=1", /"lost-response=1".*lost-response takes no value/],
    ["status=99", /"status=99".*status must be an HTTP error status \(400-599\)/],
    ["status=600", /"status=600".*status must be an HTTP error status \(400-599\)/],
  ])("refuses %j with a clear error", (text, message) => {
    expect(() => parseFaults(text)).toThrow(message);
  });
});

describe("faults (admin API)", () => {
  beforeEach(async () => {
    t = await startTestEmulator();
  });
  afterEach(() => t.close());

  async function setFaults(options: FaultOptions, target = t) {
    return target.admin("PUT", "/faults", options);
  }

  test("a status 503 fault with count 1 on runWorkflow fails the next POST /workflow_runs with a retryable 503, and the one after succeeds", async () => {
    const workflowId = await newWorkflow();
    await setFaults({
      rules: [{ type: "status", status: 503, count: 1, operations: ["runWorkflow"] }],
    });
    const failed = await raw(t, "POST", "/workflow_runs", runBody(workflowId));
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ success: false, retryable: true });
    expect(failed.body.error).toMatch(/503/);
    expect(await runsOf(workflowId)).toHaveLength(0);

    const ok = await raw(t, "POST", "/workflow_runs", runBody(workflowId));
    expect(ok.status).toBe(200);
    expect(await runsOf(workflowId)).toHaveLength(1);
    expect(await t.admin("GET", "/faults")).toEqual({ rules: [] });
  });

  test("a reset fault drops the connection: fetch rejects and no run is created", async () => {
    const workflowId = await newWorkflow();
    await setFaults({ rules: [{ type: "reset", count: 1, operations: ["runWorkflow"] }] });
    await expect(t.client.POST("/workflow_runs", { body: runBody(workflowId) })).rejects.toThrow();
    await t.emulator.idle();
    expect(await runsOf(workflowId)).toHaveLength(0);
    const { data } = await t.client.POST("/workflow_runs", { body: runBody(workflowId) });
    expect(data?.workflowRuns).toHaveLength(1);
  });

  test("a lost-response fault does the work, then drops the connection: fetch rejects but the run exists", async () => {
    const workflowId = await newWorkflow();
    await setFaults({ rules: [{ type: "lost-response", count: 1, operations: ["runWorkflow"] }] });
    await expect(t.client.POST("/workflow_runs", { body: runBody(workflowId) })).rejects.toThrow();
    const runs = await runsOf(workflowId);
    expect(runs).toHaveLength(1);
    await t.emulator.idle();
    const { data } = await t.client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: runs[0]!.id } },
    });
    expect(data?.workflowRun.status).toBe("PROCESSED");
  });

  test("a latency fault still serves the request, and a count of 1 retires it", async () => {
    await setFaults({ rules: [{ type: "latency", ms: 50, count: 1 }] });
    expect((await t.admin("GET", "/faults")).rules).toHaveLength(1);
    const { data, error } = await t.client.GET("/files");
    expect(error).toBeUndefined();
    expect(data?.success).toBe(true);
    expect(await t.admin("GET", "/faults")).toEqual({ rules: [] });
  });

  test("a rule limited to some operations leaves every other operation alone", async () => {
    await setFaults({ rules: [{ type: "status", status: 500, operations: ["listFiles"] }] });
    expect((await raw(t, "GET", "/files")).status).toBe(500);
    expect((await raw(t, "GET", "/workflow_runs")).status).toBe(200);
    expect((await raw(t, "POST", "/workflows", { name: "x" })).status).toBe(200);
    expect((await raw(t, "GET", "/files")).status).toBe(500);
    // Without a count the rule stays.
    expect((await t.admin("GET", "/faults")).rules).toHaveLength(1);
  });

  test("a count retires the rule after that many matching requests", async () => {
    await setFaults({ rules: [{ type: "status", status: 500, count: 2 }] });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await raw(t, "GET", "/files")).status);
    expect(statuses).toEqual([500, 500, 200, 200]);
  });

  test("a rate-limit fault answers 429 RATE_LIMIT_EXCEEDED with its Retry-After", async () => {
    await setFaults({ rules: [{ type: "rate-limit", retryAfter: 7, count: 1 }] });
    const limited = await t.request("GET", "/workflow_runs");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(limited.body).toMatchObject({ code: "RATE_LIMIT_EXCEEDED", retryable: true });
    expect((await t.request("GET", "/workflow_runs")).status).toBe(200);
  });

  test("a status 429 fault also carries an integer Retry-After, as every 429 does", async () => {
    await setFaults({ rules: [{ type: "status", status: 429, count: 1 }] });
    const limited = await t.request("GET", "/workflow_runs");
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: "RATE_LIMIT_EXCEEDED", retryable: true });
    expect(limited.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
  });

  test.each([
    ["no rules array", {}, /rules must be an array/],
    ["an unknown type", { rules: [{ type: "explode" }] }, /rules\[0\]\.type must be one of/],
    [
      "a status that is not an HTTP error",
      { rules: [{ type: "reset" }, { type: "status", status: 99 }] },
      /rules\[1\]\.status must be an HTTP error status \(400-599\)/,
    ],
    [
      "a probability above 1",
      { rules: [{ type: "latency", probability: 1.5 }] },
      /rules\[0\]\.probability must be between 0 and 1/,
    ],
  ])(
    "PUT /faults refuses %s with 400 and keeps the rules in force",
    async (_name, body, message) => {
      await setFaults({ rules: [{ type: "status", status: 500, operations: ["listFiles"] }] });
      await expect(t.admin("PUT", "/faults", body)).rejects.toThrow(/→ 400/);
      await expect(t.admin("PUT", "/faults", body)).rejects.toThrow(message);
      expect((await t.admin("GET", "/faults")).rules).toEqual([
        { type: "status", status: 500, operations: ["listFiles"] },
      ]);
      // The API keeps answering normally.
      expect((await raw(t, "GET", "/files")).status).toBe(500);
      expect((await raw(t, "GET", "/workflow_runs")).status).toBe(200);
    },
  );

  test("DELETE /faults removes every rule", async () => {
    await setFaults({ rules: [{ type: "status", status: 500 }] });
    expect((await raw(t, "GET", "/files")).status).toBe(500);
    expect(await t.admin("DELETE", "/faults")).toEqual({ rules: [] });
    expect((await raw(t, "GET", "/files")).status).toBe(200);
  });

  test("rules given at start-up apply from the first request", async () => {
    const faulty = await startTestEmulator({
      faults: { rules: [{ type: "status", status: 500, count: 1 }] },
    });
    try {
      expect((await raw(faulty, "GET", "/files")).status).toBe(500);
      expect((await raw(faulty, "GET", "/files")).status).toBe(200);
    } finally {
      await faulty.close();
    }
  });

  test("seeded probability draws are reproducible: the same seed over the same 50 requests gives the same statuses in two fresh emulators", async () => {
    const rule = { type: "status" as const, status: 500, probability: 0.3 };
    async function statusesWith(seed: number) {
      const fresh = await startTestEmulator();
      try {
        await setFaults({ seed, rules: [rule] }, fresh);
        const statuses: number[] = [];
        for (let i = 0; i < 50; i++)
          statuses.push((await raw(fresh, "GET", "/workflow_runs")).status);
        return statuses;
      } finally {
        await fresh.close();
      }
    }
    const first = await statusesWith(42);
    const second = await statusesWith(42);
    expect(second).toEqual(first);
    // Both outcomes occur, in the order the seeded generator draws them.
    expect(first).toContain(500);
    expect(first).toContain(200);
    const random = seededRandom(42);
    expect(first).toEqual(Array.from({ length: 50 }, () => (random() < 0.3 ? 500 : 200)));
    // Another seed draws another sequence.
    expect(await statusesWith(43)).not.toEqual(first);
  });
});
