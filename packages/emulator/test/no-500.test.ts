/**
 * Requests a client can send must never get a 500: the emulator marks a 500 retryable, so a
 * client would retry forever what can never succeed. Each case here was once a 500.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestEmulator, type TestEmulator } from "./helpers/harness.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.close());

/** A URL on loopback that refuses connections: nothing listens on the discard port. */
const UNREACHABLE = "http://127.0.0.1:9";

/** Sends a request target exactly as given (no URL normalisation), answers status and body. */
function rawRequest(
  target: string,
  { method = "GET", headers = {} as Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(t.emulator.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

const auth = () => ({
  authorization: `Bearer ${t.emulator.token}`,
  "x-extend-api-version": "2025-04-21",
});

describe("empty ids and malformed URLs in bodies are 400s that name the field", () => {
  const emptyFile = { fileId: "" };
  const cases: Array<[string, () => unknown]> = [
    ["/parse", () => ({ file: emptyFile })],
    ["/parse/async", () => ({ file: emptyFile })],
    ["/edit", () => ({ file: emptyFile })],
    ["/edit/async", () => ({ file: emptyFile })],
    ["/edit_schemas/generate", () => ({ file: emptyFile })],
    ["/processor_runs", () => ({ processorId: t.emulator.seed.extractorId, file: emptyFile })],
    ["/workflow_runs", () => ({ workflowId: t.emulator.seed.workflowId, files: [emptyFile] })],
    [
      "/workflow_runs/batch",
      () => ({ workflowId: t.emulator.seed.workflowId, inputs: [{ file: emptyFile }] }),
    ],
  ];
  test.each(cases)("empty fileId on POST %s", async (path, body) => {
    const { status, body: answer } = await t.request("POST", path, { body: body() });
    expect(status).toBe(400);
    expect(answer.code).toBe("INVALID_REQUEST");
    expect(answer.retryable).toBe(false);
    expect(answer.message).toMatch(/fileId is empty/);
  });

  test.each(["/edit", "/edit/async"])("empty templateId on POST %s", async (path) => {
    const { status, body } = await t.request("POST", path, { body: { templateId: "" } });
    expect(status).toBe(400);
    expect(body.message).toMatch(/templateId is empty/);
  });

  test("a file URL with a malformed escape is downloaded, and fails as a download", async () => {
    const url = `${UNREACHABLE}/%FF.pdf`;
    const created = await t.request("POST", "/files", { body: { url } });
    expect(created.status).toBe(400);
    expect(created.body.code).toBe("UNABLE_TO_DOWNLOAD_FILE");
    const parsed = await t.request("POST", "/parse", { body: { file: { fileUrl: url } } });
    expect(parsed.status).toBe(400);
    expect(parsed.body.code).toBe("UNABLE_TO_DOWNLOAD_FILE");
  });
});

describe("a file whose URL cannot be downloaded", () => {
  let fileId: string;
  beforeAll(async () => {
    const { status, body } = await t.request("POST", "/workflow_runs", {
      body: {
        workflowId: t.emulator.seed.workflowId,
        files: [{ fileUrl: `${UNREACHABLE}/gone.pdf` }],
      },
    });
    expect(status).toBe(200);
    fileId = body.workflowRuns[0].files[0].id;
  });

  test.each(["rawText", "markdown", "html"])(
    "GET /files/{id}?%s=true is a 400 UNABLE_TO_DOWNLOAD_FILE",
    async (flag) => {
      const { status, body } = await t.request("GET", `/files/${fileId}?${flag}=true`);
      expect(status).toBe(400);
      expect(body.code).toBe("UNABLE_TO_DOWNLOAD_FILE");
      expect(body.retryable).toBe(false);
    },
  );

  test("its presigned URL answers 400 UNABLE_TO_DOWNLOAD_FILE", async () => {
    const { body } = await t.request("GET", `/files/${fileId}`);
    const response = await fetch(body.file.presignedUrl);
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("UNABLE_TO_DOWNLOAD_FILE");
  });
});

test("a corrupt PDF's contents are a 400 CORRUPT_FILE (the spec declares 422 for parse and edit only)", async () => {
  const file = await t.upload("broken.pdf", "%PDF-1.4\n%%EOF\n", "application/pdf");
  const { status, body } = await t.request("GET", `/files/${file.id}?rawText=true`);
  expect(status).toBe(400);
  expect(body.code).toBe("CORRUPT_FILE");
});

describe("malformed paths and request targets", () => {
  test.each(["/workflow_runs/%E0%A4%A", "/files/%", "/processors/%zz/versions"])(
    "GET %s without a token is a 401, with one a 400 naming the parameter",
    async (target) => {
      const anonymous = await rawRequest(target);
      expect(anonymous.status).toBe(401);
      const authorized = await rawRequest(target, { headers: auth() });
      expect(authorized.status).toBe(400);
      expect(JSON.parse(authorized.body).message).toMatch(/path parameter `\w+` has a malformed/);
    },
  );

  test("a request target no URL parser accepts is a 400, and the server keeps serving", async () => {
    const answer = await rawRequest("//", { headers: auth() });
    expect([400, 404]).toContain(answer.status);
    const weird = await rawRequest("*", { method: "OPTIONS", headers: auth() });
    expect(weird.status).toBe(400);
    expect((await t.request("GET", "/files")).status).toBe(200);
  });
});

describe("JSON bodies", () => {
  test("a body nested 20,000 deep is a 400 naming the limit", async () => {
    const deep = `{"workflowId":"w","rawTexts":["x"],"metadata":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`;
    const { status, body } = await t.request("POST", "/workflow_runs", { raw: deep });
    expect(status).toBe(400);
    expect(body.message).toMatch(/nests 20001 levels deep; the limit is 128/);
  });

  test("nesting up to the limit is accepted", async () => {
    const depth = 127; // the body object itself is one level
    const metadata = `${'{"a":'.repeat(depth - 1)}1${"}".repeat(depth - 1)}`;
    const raw = `{"workflowId":"${t.emulator.seed.workflowId}","rawTexts":["Invoice 1"],"metadata":${metadata}}`;
    const { status } = await t.request("POST", "/workflow_runs", {
      raw,
      headers: { "content-type": "application/json" },
    });
    expect(status).toBe(200);
  });

  test("brackets inside strings do not count", async () => {
    const text = "[{".repeat(5000);
    const { status } = await t.request("POST", "/workflow_runs", {
      body: { workflowId: t.emulator.seed.workflowId, rawTexts: [text] },
    });
    expect(status).toBe(200);
  });
});

describe("multipart uploads", () => {
  const pdfLike = "%PDF-1.4\n%%EOF\n";
  async function send(parts: Array<[string, string, string?]>) {
    const form = new FormData();
    for (const [field, content, name] of parts) {
      if (name) form.append(field, new Blob([content], { type: "text/plain" }), name);
      else form.append(field, content);
    }
    const response = await fetch(`${t.emulator.url}/files/upload`, {
      method: "POST",
      headers: auth(),
      body: form,
    });
    return { status: response.status, body: await response.json() };
  }

  test("another file part before `file` is ignored", async () => {
    const { status, body } = await send([
      ["attachment", "ignored", "other.txt"],
      ["file", "hello", "hello.txt"],
    ]);
    expect(status).toBe(200);
    expect(body.file.name).toBe("hello.txt");
  });

  test("parts after `file`, fields and a second `file` are ignored", async () => {
    const { status, body } = await send([
      ["note", "a field"],
      ["file", "first", "first.txt"],
      ["file", "second", "second.txt"],
      ["attachment", pdfLike, "after.pdf"],
    ]);
    expect(status).toBe(200);
    expect(body.file.name).toBe("first.txt");
  });

  test("no part named `file` is still a 400 that says so", async () => {
    const { status, body } = await send([["attachment", "x", "x.txt"]]);
    expect(status).toBe(400);
    expect(body.message).toMatch(/body.file is required/);
  });
});

describe("methods", () => {
  test("a 405 carries an Allow header listing the path's methods", async () => {
    const answer = await rawRequest("/files/file_1", { method: "PUT", headers: auth() });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe("DELETE, GET, HEAD");
    const list = await rawRequest("/files", { method: "DELETE", headers: auth() });
    expect(list.headers.allow).toBe("GET, HEAD, POST");
  });

  test("HEAD on a GET route answers the GET's status and headers with no body", async () => {
    const head = await rawRequest("/files", { method: "HEAD", headers: auth() });
    expect(head.status).toBe(200);
    expect(head.headers["content-type"]).toMatch(/application\/json/);
    expect(Number(head.headers["content-length"])).toBeGreaterThan(0);
    expect(head.body).toBe("");
    const missing = await rawRequest("/files/file_missing", { method: "HEAD", headers: auth() });
    expect(missing.status).toBe(404);
    expect(missing.body).toBe("");
  });

  test("the admin API answers a wrong method with 405 and Allow too", async () => {
    const answer = await rawRequest("/_emulator/faults", { method: "POST", headers: auth() });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe("DELETE, GET, HEAD, PUT");
  });
});

describe("the admin API checks its input as strictly as the public API", () => {
  async function admin(method: string, path: string, raw?: string) {
    const response = await fetch(`${t.emulator.url}/_emulator${path}`, {
      method,
      headers: { authorization: `Bearer ${t.emulator.token}`, "content-type": "application/json" },
      ...(raw === undefined ? {} : { body: raw }),
    });
    return { status: response.status, body: await response.json() };
  }

  const cases: Array<[string, string, string, RegExp]> = [
    ["POST", "/workflows", `{"name":"w","steps":"x"}`, /body\.steps must be array/],
    ["POST", "/workflows", `{"name":{}}`, /body\.name must be string/],
    ["POST", "/workflows", `{"name":"w","id":{}}`, /body\.id must be string/],
    ["POST", "/workflows", `{"name":"w","steps":[null]}`, /body\.steps\[0\] must be object/],
    ["POST", "/workflows", "null", /body must be object/],
    ["POST", "/workflows", `{"name":"w","stepz":[]}`, /must NOT have additional properties/],
    ["PUT", "/workflows/workflow_invoices/steps", `{"steps":5}`, /body\.steps must be array/],
    [
      "POST",
      "/processors",
      `{"name":"p","type":"NOPE","config":{"type":"EXTRACT","schema":{"type":"object","properties":{}}}}`,
      /body\.type must be one of/,
    ],
    ["POST", "/processors", `{"name":"p","type":"EXTRACT","config":5}`, /body\.config must be/],
    ["POST", "/workflow_runs/workflow_run_x/review", "null", /body must be object/],
    [
      "POST",
      "/webhook_endpoints",
      `{"url":"http://127.0.0.1:9/","events":5}`,
      /events must be array/,
    ],
    [
      "POST",
      "/webhook_endpoints",
      `{"url":"http://127.0.0.1:9/","workflowIds":5}`,
      /workflowIds must be array/,
    ],
    [
      "POST",
      "/webhook_endpoints",
      `{"url":"http://127.0.0.1:9/","events":["no.such.event"]}`,
      /events\[0\] must be one of/,
    ],
    ["PUT", "/rate_limits", "null", /body must be object/],
    ["PUT", "/rate_limits", `{"run":"fast"}`, /body\.run must be number/],
    ["PUT", "/faults", "null", /rules must be an array/],
    ["POST", "/edit_templates", `{"name":"t","fileId":7}`, /body\.fileId must be string/],
  ];
  test.each(cases)("%s %s %s is a 400", async (method, path, raw, message) => {
    const { status, body } = await admin(method, path, raw);
    expect(status).toBe(400);
    expect(body.message).toMatch(message);
  });

  test("after refused endpoints, workflows are created and runs complete", async () => {
    await admin("POST", "/webhook_endpoints", `{"url":"http://127.0.0.1:9/","events":5}`);
    await admin("POST", "/webhook_endpoints", `{"url":"http://127.0.0.1:9/","workflowIds":5}`);
    const { status } = await admin("POST", "/workflows", `{"name":"after refused endpoints"}`);
    expect(status).toBe(200);
    const run = await t.request("POST", "/workflow_runs", {
      body: { workflowId: t.emulator.seed.workflowId, rawTexts: ["Invoice #9, total $9.00"] },
    });
    expect(run.status).toBe(200);
    await t.emulator.idle();
    const id = run.body.workflowRuns[0].id;
    const done = await t.request("GET", `/workflow_runs/${id}`);
    expect(done.body.workflowRun.status).not.toBe("FAILED");
  });
});

describe("an invalid value inside a union is named by the shape it was meant to be", () => {
  test("a processor config's wrong tag lists the tags", async () => {
    const { status, body } = await t.request("POST", "/processors", {
      body: { name: "p", type: "SPLITTER", config: { type: 12345, splitClassifications: [] } },
    });
    expect(status).toBe(400);
    expect(body.message).toBe(
      'Invalid request: body.config.type must be one of "EXTRACT", "CLASSIFY", "SPLITTER".',
    );
  });

  test("a right tag gets the errors of its own shape only", async () => {
    const { body } = await t.request("POST", "/processors", {
      body: {
        name: "p",
        type: "SPLITTER",
        config: { type: "SPLITTER", baseProcessor: "extraction_light", splitClassifications: [] },
      },
    });
    expect(body.message).toMatch(
      /^Invalid request: body\.config\.baseProcessor must be one of "splitting_performance"/,
    );
  });

  test("a classifier output with a numeric type names `type`, not the field-map shape", async () => {
    const { status, body } = await t.request(
      "POST",
      "/workflow_runs/workflow_run_x/outputs/output_x",
      { body: { reviewedOutput: { id: "a", type: 12345, confidence: 0.5 } } },
    );
    expect(status).toBe(400);
    expect(body.message).toBe("Invalid request: body.reviewedOutput.type must be string.");
  });
});
