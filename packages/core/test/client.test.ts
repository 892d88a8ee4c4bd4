import { afterEach, describe, expect, test, vi } from "vitest";
import { API_VERSION, ApiError, createClient, DEFAULT_BASE_URL, isApiError } from "../src/index.js";

/** A client whose fetch records each request and answers with `reply`. Nothing is mocked
 * but the network: the request is the exact `Request` openapi-fetch built. */
function observedClient(
  options: Partial<Parameters<typeof createClient>[0]> = {},
  reply: () => Response = () => Response.json({ success: true, workflowRuns: [] }),
) {
  const requests: Request[] = [];
  const client = createClient({
    token: "sk_test_123",
    ...options,
    fetch: async (request) => {
      requests.push(request);
      return reply();
    },
  });
  return { client, requests };
}

describe("createClient", () => {
  test("sends the bearer token, the API version and the JSON body to the right URL", async () => {
    const { client, requests } = observedClient();
    const body = { workflowId: "workflow_abc", rawTexts: ["Invoice 42"], priority: 10 };

    const { data, error } = await client.POST("/workflow_runs", { body });

    expect(error).toBeUndefined();
    expect(data).toEqual({ success: true, workflowRuns: [] });
    expect(requests).toHaveLength(1);
    const request = requests[0] as Request;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://api.extend.ai/workflow_runs");
    expect(request.headers.get("authorization")).toBe("Bearer sk_test_123");
    expect(request.headers.get("x-extend-api-version")).toBe("2025-04-21");
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(await request.json()).toEqual(body);
  });

  test("fills path parameters and query strings from the typed params", async () => {
    const { client, requests } = observedClient();

    await client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: "workflow_run_a/b" } },
    });
    await client.GET("/workflow_runs", {
      params: { query: { batchId: "batch_1", maxPageSize: 5, sortDir: "asc" } },
    });

    expect(requests.map((r) => r.url)).toEqual([
      "https://api.extend.ai/workflow_runs/workflow_run_a%2Fb",
      "https://api.extend.ai/workflow_runs?batchId=batch_1&maxPageSize=5&sortDir=asc",
    ]);
    expect(requests[0]?.method).toBe("GET");
  });

  test("uses the given base URL without doubling a trailing slash", async () => {
    const { client, requests } = observedClient({ baseUrl: "http://127.0.0.1:4010/" });

    await client.GET("/files", {});

    expect(requests[0]?.url).toBe("http://127.0.0.1:4010/files");
  });

  test("keeps its own auth and version headers over caller headers, and adds the workspace", async () => {
    const { client, requests } = observedClient({
      apiVersion: "2024-12-23",
      workspaceId: "ws_1",
      headers: {
        Authorization: "Bearer stolen",
        "X-Extend-Api-Version": "1999-01-01",
        "x-trace-id": "t-1",
      },
    });

    await client.GET("/processors", {});

    const headers = requests[0]?.headers;
    expect(headers?.get("authorization")).toBe("Bearer sk_test_123");
    expect(headers?.get("x-extend-api-version")).toBe("2024-12-23");
    expect(headers?.get("x-extend-workspace-id")).toBe("ws_1");
    expect(headers?.get("x-trace-id")).toBe("t-1");
  });

  test("returns error answers as ApiError values that also carry the body's fields", async () => {
    const body = {
      success: false,
      error: "Workflow run not found",
      code: "NOT_FOUND",
      requestId: "req_9",
      retryable: false,
    };
    const { client } = observedClient({}, () => Response.json(body, { status: 404 }));

    const { data, error, response } = await client.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: "workflow_run_missing" } },
    });

    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(isApiError(error)).toBe(true);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ ...body, status: 404, method: "GET", attempts: 1, body });
    expect((error as ApiError).url).toBe(
      "https://api.extend.ai/workflow_runs/workflow_run_missing",
    );
    expect((error as ApiError).message).toBe(
      "GET https://api.extend.ai/workflow_runs/workflow_run_missing failed with 404: Workflow run not found",
    );
  });

  test.each([
    [
      "no token and no EXTEND_API_KEY",
      { token: undefined },
      /`token` must be an API key with no spaces or line breaks \(unset: EXTEND_API_KEY\); got undefined/,
    ],
    ["an empty token", { token: "" }, /`token` must be an API key.*; got 0 characters/],
    ["a blank token", { token: "  " }, /no spaces or line breaks/],
    [
      "a token with a trailing newline",
      { token: "sk_1\n" },
      /no spaces or line breaks.*; got 5 characters/,
    ],
    ["a relative base URL", { token: "sk_1", baseUrl: "/api" }, /absolute http\(s\) URL.*"\/api"/],
    ["a non-http base URL", { token: "sk_1", baseUrl: "ftp://x.test" }, /absolute http\(s\) URL/],
    [
      "a zero timeoutMs",
      { token: "sk_1", timeoutMs: 0 },
      /timeoutMs` must be a positive.*Infinity/,
    ],
    ["a NaN totalTimeoutMs", { token: "sk_1", totalTimeoutMs: Number.NaN }, /totalTimeoutMs` must/],
  ])("refuses %s with a message that says what to do", (_name, options, message) => {
    expect(() => createClient(options as Parameters<typeof createClient>[0])).toThrow(message);
  });

  test("never repeats the token in its message", () => {
    expect(() => createClient({ token: "sk_live_secret\n" })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining("sk_live_secret") }),
    );
  });

  test("exports the defaults it documents", () => {
    expect(DEFAULT_BASE_URL).toBe("https://api.extend.ai");
    expect(API_VERSION).toBe("2025-04-21");
  });
});

describe("createClient from the environment", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
  });
  /** `createClient(options)` with a recording fetch; resolves to the one request it sent. */
  async function sent(options?: Parameters<typeof createClient>[0]) {
    const requests: Request[] = [];
    const client = createClient({
      ...options,
      fetch: async (request) => {
        requests.push(request);
        return Response.json({ files: [], nextPageToken: null });
      },
    });
    await client.GET("/files");
    return requests[0] as Request;
  }

  test("reads the token from EXTEND_API_KEY and the root from EXTEND_BASE_URL", async () => {
    vi.stubEnv("EXTEND_API_KEY", "sk_from_env");
    vi.stubEnv("EXTEND_BASE_URL", "http://127.0.0.1:4010/");
    const request = await sent();
    expect(request.headers.get("authorization")).toBe("Bearer sk_from_env");
    expect(request.url).toBe("http://127.0.0.1:4010/files");
    expect(createClient()).toBeTypeOf("object");
  });

  test("options win over the environment", async () => {
    vi.stubEnv("EXTEND_API_KEY", "sk_from_env");
    vi.stubEnv("EXTEND_BASE_URL", "http://127.0.0.1:4010");
    const request = await sent({ token: "sk_given", baseUrl: "https://eu.example.test" });
    expect(request.headers.get("authorization")).toBe("Bearer sk_given");
    expect(request.url).toBe("https://eu.example.test/files");
  });

  test("without EXTEND_BASE_URL (or with it empty) calls the production API", async () => {
    vi.stubEnv("EXTEND_API_KEY", "sk_from_env");
    vi.stubEnv("EXTEND_BASE_URL", "");
    expect((await sent()).url).toBe("https://api.extend.ai/files");
  });

  test("refuses a bad EXTEND_API_KEY or EXTEND_BASE_URL as it refuses bad options, never repeating the key", () => {
    vi.stubEnv("EXTEND_API_KEY", "sk_live_secret\n");
    expect(() => createClient()).toThrow(/no spaces or line breaks.*; got 15 characters/);
    expect(() => createClient()).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining("sk_live_secret") }),
    );
    vi.stubEnv("EXTEND_API_KEY", "sk_1");
    vi.stubEnv("EXTEND_BASE_URL", "127.0.0.1:4010");
    expect(() => createClient()).toThrow(
      /`baseUrl` must be an absolute http\(s\) URL.*; got "127\.0\.0\.1:4010"/,
    );
  });

  test("never reads the environment in a browser page, even one whose bundler shimmed process.env", () => {
    vi.stubEnv("EXTEND_API_KEY", "sk_inlined_into_a_bundle");
    vi.stubGlobal("document", {});
    expect(() => createClient()).toThrow(/\(unset: EXTEND_API_KEY\); got undefined/);
    expect(() => createClient({ token: "sk_given" })).not.toThrow();
  });
});

describe("createClient's exports", () => {
  test("are the documented defaults", () => {
    expect(DEFAULT_BASE_URL).toBe("https://api.extend.ai");
    expect(API_VERSION).toBe("2025-04-21");
  });
});
