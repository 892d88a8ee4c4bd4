import { request as httpRequest } from "node:http";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type FaultRule, parseFaults } from "../src/faults.js";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

// The faults of a misbehaving gateway in front of the API (echoes, redirects, hangs, slow
// and cut bodies), which the proxy's contract suite points at, and the request log that
// says what the client really got.
let t: TestEmulator;
let log: string[];

beforeEach(async () => {
  log = [];
  t = await startTestEmulator({ log: (line) => log.push(line) });
});
afterEach(() => t.close());

const setFaults = (...rules: FaultRule[]) => t.admin("PUT", "/faults", { rules });
const auth = () => `Bearer ${t.emulator.token}`;

/** A request with the emulator's token, answered with its raw status, headers and text. */
async function call(method: string, path: string, init: RequestInit = {}) {
  const response = await fetch(t.emulator.url + path, {
    method,
    redirect: "manual",
    ...init,
    headers: {
      authorization: auth(),
      "x-extend-api-version": "2025-04-21",
      "content-type": "application/json",
      ...(init.headers as Record<string, string>),
    },
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const runBody = JSON.stringify({ workflowId: "workflow_invoices", rawTexts: ["Invoice #1"] });

async function runCount() {
  return JSON.parse((await call("GET", "/workflow_runs")).text).workflowRuns.length as number;
}

/** Waits until the emulator has logged a line matching `pattern`. */
async function logged(pattern: RegExp) {
  await expect.poll(() => log.find((line) => pattern.test(line))).toBeDefined();
  return log.find((line) => pattern.test(line)) as string;
}

describe("echo faults", () => {
  test("json: a 502 whose body holds the request's headers, credentials included, without doing the work", async () => {
    await setFaults({ type: "echo", count: 1, operations: ["runWorkflow"] });
    const answer = await call("POST", "/workflow_runs", { body: runBody });
    expect(answer.status).toBe(502);
    expect(answer.headers.get("content-type")).toBe("application/json");
    const body = JSON.parse(answer.text);
    expect(body).toMatchObject({ success: false, code: "BAD_GATEWAY" });
    expect(body.request).toMatchObject({ method: "POST", url: "/workflow_runs" });
    expect(body.request.headers.authorization).toBe(auth());
    expect(await runCount()).toBe(0);
    expect(await logged(/POST \/workflow_runs → 502 .*\[faults: echo\]/)).toBeTruthy();
  });

  test.each([
    ["text", "text/plain", (text: string) => text],
    ["html", "text/html", (text: string) => text],
    [
      "base64",
      "text/plain",
      (text: string) => Buffer.from(text.trim(), "base64").toString("latin1"),
    ],
  ] as const)("%s: the request's head in a %s body", async (format, type, decode) => {
    await setFaults({ type: "echo", status: 500, format, count: 1 });
    const answer = await call("GET", "/files/file_x");
    expect(answer.status).toBe(500);
    expect(answer.headers.get("content-type")).toBe(type);
    expect(decode(answer.text)).toMatch(/GET \/files\/file_x HTTP\/1\.1/);
    expect(decode(answer.text)).toContain(`authorization: ${auth()}`);
  });

  test("header: the credentials come back in x-request-id and retry-after", async () => {
    await setFaults({ type: "echo", status: 429, format: "header", count: 1 });
    const answer = await call("GET", "/files");
    expect(answer.status).toBe(429);
    expect(answer.headers.get("x-request-id")).toBe(auth());
    expect(answer.headers.get("retry-after")).toBe(auth());
    expect(answer.text).not.toContain(t.emulator.token);
  });

  test("a 200 with padBytes puts the echo after that much filler", async () => {
    await setFaults({ type: "echo", status: 200, format: "text", padBytes: 70_000, count: 1 });
    const answer = await call("GET", "/files");
    expect(answer.status).toBe(200);
    expect(answer.text.indexOf(t.emulator.token)).toBeGreaterThan(70_000);
  });
});

describe("redirect, hang, slow and cut answers", () => {
  test("redirect: a 302 to /processors by default, or to any location, with nothing done", async () => {
    await setFaults(
      { type: "redirect", count: 1, operations: ["runWorkflow"] },
      {
        type: "redirect",
        status: 307,
        location: "http://127.0.0.1:9/elsewhere",
        operations: ["listFiles"],
      },
    );
    const same = await call("POST", "/workflow_runs", { body: runBody });
    expect(same.status).toBe(302);
    expect(same.headers.get("location")).toBe("/processors");
    const other = await call("GET", "/files");
    expect(other.status).toBe(307);
    expect(other.headers.get("location")).toBe("http://127.0.0.1:9/elsewhere");
    expect(await runCount()).toBe(0);
  });

  test("hang: no answer until the client closes, which the log says", async () => {
    await setFaults({ type: "hang", count: 1 });
    const aborted = new AbortController();
    const pending = fetch(`${t.emulator.url}/files`, {
      headers: { authorization: auth(), "x-extend-api-version": "2025-04-21" },
      signal: aborted.signal,
    });
    // The rule retires when it is drawn: the request has arrived and hangs.
    await expect.poll(async () => (await t.admin("GET", "/faults")).rules).toEqual([]);
    aborted.abort();
    await expect(pending).rejects.toThrow();
    expect(
      await logged(/GET \/files → no answer, connection closed .*\[faults: hang\]/),
    ).toBeTruthy();
  });

  test("slow-body: the whole answer arrives in pieces, and the work is done", async () => {
    await setFaults({ type: "slow-body", ms: 20, count: 1, operations: ["runWorkflow"] });
    const pieces: Buffer[] = [];
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${t.emulator.url}/workflow_runs`);
      const req = httpRequest(
        url,
        {
          method: "POST",
          headers: {
            authorization: auth(),
            "x-extend-api-version": "2025-04-21",
            "content-type": "application/json",
          },
        },
        (res) => {
          res.on("data", (piece: Buffer) => pieces.push(piece));
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(runBody);
    });
    expect(status).toBe(200);
    expect(pieces.length).toBeGreaterThan(1);
    expect(JSON.parse(Buffer.concat(pieces).toString()).workflowRuns).toHaveLength(1);
    expect(await runCount()).toBe(1);
    expect(await logged(/POST \/workflow_runs → 200 .*\[faults: slow-body\]/)).toBeTruthy();
  });

  test("cut-body: headers and half the body, then the connection drops; the work is done", async () => {
    await setFaults({ type: "cut-body", count: 1, operations: ["runWorkflow"] });
    const response = await fetch(`${t.emulator.url}/workflow_runs`, {
      method: "POST",
      headers: {
        authorization: auth(),
        "x-extend-api-version": "2025-04-21",
        "content-type": "application/json",
      },
      body: runBody,
    });
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    expect(await runCount()).toBe(1);
    expect(
      await logged(/POST \/workflow_runs → 200, cut before the body ended .*\[faults: cut-body\]/),
    ).toBeTruthy();
  });

  test.each([
    ["reset", 0],
    ["lost-response", 1],
  ] as const)("the log does not call a %s a 200", async (type, runs) => {
    await setFaults({ type, count: 1, operations: ["runWorkflow"] });
    await expect(call("POST", "/workflow_runs", { body: runBody })).rejects.toThrow();
    expect(
      await logged(
        new RegExp(`POST /workflow_runs → no answer, connection closed .*\\[faults: ${type}\\]`),
      ),
    ).toBeTruthy();
    expect(await runCount()).toBe(runs);
  });
});

describe("checking gateway fault rules", () => {
  test.each([
    [{ type: "echo", status: 100 }, /rules\[0\]\.status must be an HTTP status \(200-599\)/],
    [
      { type: "redirect", status: 200 },
      /rules\[0\]\.status must be an HTTP redirect status \(300-399\)/,
    ],
    [{ type: "echo", format: "xml" }, /rules\[0\]\.format must be one of json, text/],
    [{ type: "echo", padBytes: -1 }, /rules\[0\]\.padBytes must be/],
    [{ type: "redirect", location: "/a\r\nset-cookie: x=1" }, /rules\[0\]\.location must be/],
    [{ type: "slow-body", ms: "fast" }, /rules\[0\]\.ms must be whole milliseconds/],
    [5, /rules\[0\] must be an object/],
  ])("PUT /faults refuses %j with 400", async (rule, message) => {
    await expect(t.admin("PUT", "/faults", { rules: [rule] })).rejects.toThrow(message);
  });

  test("the CLI form takes the new types and their values", () => {
    expect(parseFaults("echo=200#1,redirect=307,hang@0.5,slow-body=50,cut-body").rules).toEqual([
      { type: "echo", status: 200, count: 1 },
      { type: "redirect", status: 307 },
      { type: "hang", probability: 0.5 },
      { type: "slow-body", ms: 50 },
      { type: "cut-body" },
    ]);
    expect(() => parseFaults("redirect=200")).toThrow(/redirect status \(300-399\)/);
    expect(() => parseFaults("hang=5")).toThrow(/hang takes no value/);
  });
});

describe("faults of a slow server", () => {
  test("slow-apply: the client gives up, and the work is still done afterwards", async () => {
    await setFaults({ type: "slow-apply", ms: 300, count: 1, operations: ["runWorkflow"] });
    await expect(
      call("POST", "/workflow_runs", { body: runBody, signal: AbortSignal.timeout(50) }),
    ).rejects.toThrow();
    expect(await runCount()).toBe(0);
    await expect.poll(runCount, { timeout: 5_000 }).toBe(1);
    expect(
      await logged(/POST \/workflow_runs → no answer, connection closed .*\[faults: slow-apply\]/),
    ).toBeTruthy();
  });

  test("latency after the body: a client that leaves during it gets nothing done", async () => {
    await setFaults({
      type: "latency",
      phase: "after-body",
      ms: 300,
      count: 1,
      operations: ["runWorkflow"],
    });
    await expect(
      call("POST", "/workflow_runs", { body: runBody, signal: AbortSignal.timeout(50) }),
    ).rejects.toThrow();
    await logged(/POST \/workflow_runs → no answer, connection closed .*\[faults: latency\]/);
    expect(await runCount()).toBe(0);
  });

  test("latency after the body: a client that waits is served", async () => {
    await setFaults({ type: "latency", phase: "after-body", ms: 50, count: 1 });
    expect((await call("POST", "/workflow_runs", { body: runBody })).status).toBe(200);
    expect(await runCount()).toBe(1);
  });

  test("a phase other than before-body or after-body is refused", async () => {
    await expect(
      t.admin("PUT", "/faults", { rules: [{ type: "latency", phase: "during" }] }),
    ).rejects.toThrow(/rules\[0\]\.phase must be before-body or after-body/);
  });
});
