import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  createClient,
  isApiError,
  NetworkError,
  RateLimitError,
  TimeoutError,
} from "../src/index.js";

type Step = Response | Error | "hang";

/** A fetch that answers from a script, records each request, and never touches the network. */
function scripted(...steps: Step[]) {
  const requests: Array<{ method: string; url: string; body: string }> = [];
  const fetch = async (request: Request): Promise<Response> => {
    requests.push({ method: request.method, url: request.url, body: await request.text() });
    const step = steps.shift() ?? new Response("{}", { status: 200 });
    if (step === "hang") {
      return new Promise((_, reject) =>
        request.signal.addEventListener("abort", () => reject(request.signal.reason)),
      );
    }
    if (step instanceof Error) throw step;
    return step;
  };
  return { fetch, requests };
}

const status = (code: number, headers: Record<string, string> = {}) =>
  Response.json(
    {
      success: false,
      error: `status ${code}`,
      code: code === 429 ? "RATE_LIMIT_EXCEEDED" : "INTERNAL_ERROR",
      requestId: `req_${code}`,
      retryable: code >= 429,
    },
    { status: code, headers },
  );
const ok = () => Response.json({ success: true, workflowRun: { id: "workflow_run_1" } });
/** A network failure as undici reports it: a TypeError whose cause carries the code. */
const netError = (code: string) =>
  Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(code), { code }) });

function client(
  fetch: (r: Request) => Promise<Response>,
  options: Parameters<typeof createClient>[0] extends infer O ? Partial<O> : never = {},
) {
  // random() = 1 makes every backoff wait its ceiling: 500 ms, then 1000 ms, ...
  return createClient({
    token: "sk_test",
    baseUrl: "http://api.test",
    fetch,
    random: () => 1,
    ...options,
  });
}

const getRun = (c: ReturnType<typeof client>) =>
  c.GET("/workflow_runs/{workflowRunId}", {
    params: { path: { workflowRunId: "workflow_run_1" } },
  });
const runWorkflow = (c: ReturnType<typeof client>) =>
  c.POST("/workflow_runs", { body: { workflowId: "workflow_1", rawTexts: ["x"] } });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("retries", () => {
  test("a GET answered 503 twice is sent three times, waiting 500 ms then 1000 ms", async () => {
    const { fetch, requests } = scripted(status(503), status(503), ok());
    const pending = getRun(client(fetch));
    await vi.advanceTimersByTimeAsync(499);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    const { data, error } = await pending;
    expect(error).toBeUndefined();
    expect(data?.workflowRun.id).toBe("workflow_run_1");
    expect(requests).toHaveLength(3);
  });

  test("full jitter: the wait is random() × the ceiling", async () => {
    const { fetch, requests } = scripted(status(503), ok());
    const pending = getRun(client(fetch, { random: () => 0.25 }));
    await vi.advanceTimersByTimeAsync(124);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(requests).toHaveLength(2);
  });

  test("after maxRetries the error value carries the attempts, status, code, request id, method and URL", async () => {
    const { fetch, requests } = scripted(status(503), status(503), status(503));
    const pending = getRun(client(fetch));
    await vi.runAllTimersAsync();
    const { error } = await pending;
    expect(requests).toHaveLength(3);
    expect(isApiError(error)).toBe(true);
    expect(error).toMatchObject({
      status: 503,
      code: "INTERNAL_ERROR",
      requestId: "req_503",
      retryable: true,
      method: "GET",
      url: "http://api.test/workflow_runs/workflow_run_1",
      attempts: 3,
      success: false,
      error: "status 503",
    });
  });

  test.each([
    [408, 2],
    [429, 2],
    [500, 2],
    [502, 2],
    [503, 2],
    [504, 2],
    [400, 1],
    [401, 1],
    [404, 1],
    [409, 1],
    [422, 1],
  ])("a retry-safe GET answered %i is sent %i time(s)", async (code, times) => {
    const { fetch, requests } = scripted(status(code), ok());
    const pending = getRun(client(fetch));
    await vi.runAllTimersAsync();
    await pending;
    expect(requests).toHaveLength(times);
  });

  test.each([
    ["500 (may have been applied)", status(500), 1],
    ["502", status(502), 1],
    ["504", status(504), 1],
    ["408", status(408), 1],
    ["503 (not applied)", status(503), 2],
    ["429 (not applied)", status(429), 2],
  ])("a run-creating POST answered %s is sent %i time(s)", async (_name, first, times) => {
    const { fetch, requests } = scripted(first, ok());
    const pending = runWorkflow(client(fetch));
    await vi.runAllTimersAsync();
    await pending;
    expect(requests).toHaveLength(times);
  });

  test("a run-creating POST is replayed with the same JSON body", async () => {
    const { fetch, requests } = scripted(status(503), ok());
    const pending = runWorkflow(client(fetch));
    await vi.runAllTimersAsync();
    await pending;
    expect(requests.map((r) => JSON.parse(r.body))).toEqual([
      { workflowId: "workflow_1", rawTexts: ["x"] },
      { workflowId: "workflow_1", rawTexts: ["x"] },
    ]);
  });

  test("a retry-safe POST (cancel) answered 500 is retried", async () => {
    const { fetch, requests } = scripted(status(500), ok());
    const pending = client(fetch).POST("/workflow_runs/{workflowRunId}/cancel", {
      params: { path: { workflowRunId: "workflow_run_1" } },
    });
    await vi.runAllTimersAsync();
    await pending;
    expect(requests).toHaveLength(2);
  });

  test("a refused connection is retried even for a run-creating POST: it was never sent", async () => {
    const { fetch, requests } = scripted(netError("ECONNREFUSED"), ok());
    const pending = runWorkflow(client(fetch));
    await vi.runAllTimersAsync();
    const { data } = await pending;
    expect(data).toBeDefined();
    expect(requests).toHaveLength(2);
  });

  test("a reset after sending a run-creating POST is not retried, and says the run may exist", async () => {
    const { fetch, requests } = scripted(netError("ECONNRESET"), ok());
    const pending = runWorkflow(client(fetch)).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const error = await pending;
    expect(requests).toHaveLength(1);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ ambiguous: true, attempts: 1, method: "POST" });
    expect((error as Error).message).toMatch(
      /may have been applied: check before sending it again/,
    );
  });

  test("a reset on a GET is retried", async () => {
    const { fetch, requests } = scripted(netError("ECONNRESET"), ok());
    const pending = getRun(client(fetch));
    await vi.runAllTimersAsync();
    await pending;
    expect(requests).toHaveLength(2);
  });

  test("maxRetries: 0 or retry: false send once", async () => {
    for (const retry of [{ maxRetries: 0 }, false] as const) {
      const { fetch, requests } = scripted(status(503), ok());
      const pending = getRun(client(fetch, { retry }));
      await vi.runAllTimersAsync();
      await pending;
      expect(requests).toHaveLength(1);
    }
  });
});

describe("Retry-After", () => {
  test("a 429 with Retry-After: 2 waits exactly 2 s before the next attempt", async () => {
    const { fetch, requests } = scripted(status(429, { "retry-after": "2" }), ok());
    const pending = getRun(client(fetch));
    await vi.advanceTimersByTimeAsync(1999);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const { data } = await pending;
    expect(requests).toHaveLength(2);
    expect(data).toBeDefined();
  });

  test("an HTTP-date Retry-After is honoured too", async () => {
    const at = new Date(Date.now() + 3000).toUTCString();
    const { fetch, requests } = scripted(status(503, { "retry-after": at }), ok());
    const pending = getRun(client(fetch));
    await vi.advanceTimersByTimeAsync(2000);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    await pending;
    expect(requests).toHaveLength(2);
  });

  test("a Retry-After longer than maxRetryAfterMs is not retried early: a RateLimitError says when", async () => {
    const now = Date.now();
    const { fetch, requests } = scripted(status(429, { "retry-after": "120" }), ok());
    const { error } = await getRun(client(fetch));
    expect(requests).toHaveLength(1);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAt?.getTime()).toBe(now + 120_000);
    expect((error as RateLimitError).status).toBe(429);
  });

  test("maxRetryAfterMs is configurable", async () => {
    const { fetch, requests } = scripted(status(429, { "retry-after": "120" }), ok());
    const pending = getRun(client(fetch, { retry: { maxRetryAfterMs: 180_000 } }));
    await vi.advanceTimersByTimeAsync(120_000);
    await pending;
    expect(requests).toHaveLength(2);
  });
});

describe("timeouts and abort", () => {
  test("an attempt with no answer within timeoutMs is abandoned and a GET retried", async () => {
    const { fetch, requests } = scripted("hang", ok());
    const pending = getRun(client(fetch, { timeoutMs: 1000 }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    const { data } = await pending;
    expect(requests).toHaveLength(2);
    expect(data).toBeDefined();
  });

  test("a run-creating POST that times out is not retried: TimeoutError, ambiguous", async () => {
    const { fetch, requests } = scripted("hang", ok());
    const pending = runWorkflow(client(fetch, { timeoutMs: 1000 })).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000);
    const error = await pending;
    expect(requests).toHaveLength(1);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({
      ambiguous: true,
      timeoutMs: 1000,
      attempts: 1,
      scope: "attempt",
    });
  });

  test("totalTimeoutMs bounds the whole call: an attempt cut short by it is an overall TimeoutError", async () => {
    const { fetch, requests } = scripted(status(503), "hang");
    const pending = getRun(client(fetch, { totalTimeoutMs: 1200 })).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1200);
    const error = await pending;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toMatch(/overall timeout/);
    expect(error).toMatchObject({ scope: "overall", timeoutMs: 1200 });
    expect(requests).toHaveLength(2);
  });

  test("a wait that would pass totalTimeoutMs is not started: the answer itself comes back", async () => {
    const { fetch, requests } = scripted(status(503), status(503), ok());
    const pending = getRun(client(fetch, { totalTimeoutMs: 1200 }));
    await vi.advanceTimersByTimeAsync(500);
    // The second 503 would mean waiting 1000 ms more, past 1200 ms: no third attempt.
    const { error } = await pending;
    expect(requests).toHaveLength(2);
    expect(error).toMatchObject({ status: 503, attempts: 2 });
  });

  test("a 429 whose Retry-After passes totalTimeoutMs is a RateLimitError at once, with its retryAt", async () => {
    const { fetch, requests } = scripted(status(429, { "retry-after": "5" }), ok());
    const { error } = await getRun(client(fetch, { totalTimeoutMs: 3000 }));
    expect(requests).toHaveLength(1);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAt?.getTime()).toBe(Date.now() + 5000);
  });

  test("aborting during a backoff wait rejects at once and sends nothing more", async () => {
    const { fetch, requests } = scripted(status(503), ok());
    const controller = new AbortController();
    const pending = client(fetch)
      .GET("/workflow_runs/{workflowRunId}", {
        params: { path: { workflowRunId: "workflow_run_1" } },
        signal: controller.signal,
      })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    const error = await pending;
    expect((error as Error).name).toBe("AbortError");
    await vi.runAllTimersAsync();
    expect(requests).toHaveLength(1);
  });
});

describe("streamed bodies", () => {
  test("are sent once, never followed through a redirect, and not replayed after a 503", async () => {
    const seen: Request[] = [];
    const { fetch, requests } = scripted(status(503), ok());
    const recording = (request: Request) => {
      seen.push(request);
      return fetch(request);
    };
    const stream = new Blob(["%PDF-1.7 streamed"]).stream();
    const { error } = await client(recording).POST("/files/upload", {
      body: stream as never,
      bodySerializer: (body: unknown) => body as BodyInit,
      headers: { "content-type": "application/pdf" },
      // Passed through to the Request, which a stream body needs.
      duplex: "half",
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.body).toBe("%PDF-1.7 streamed");
    // A fetch that follows redirects keeps a copy of the stream until the answer comes.
    expect(seen[0]!.redirect).toBe("error");
    expect(error).toMatchObject({ status: 503, attempts: 1 });
  });
});

describe("timeouts abort the attempt", () => {
  test("a timed-out attempt's signal is aborted, and a late answer from a fetch that ignored it is discarded", async () => {
    let answer: (response: Response) => void = () => {};
    let cancelled = false;
    const seen: Request[] = [];
    const fetch = vi.fn(
      (request: Request) =>
        new Promise<Response>((resolve) => {
          seen.push(request);
          answer = resolve;
        }),
    );
    const pending = getRun(client(fetch, { timeoutMs: 1000, retry: false })).catch(
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(await pending).toMatchObject({ name: "TimeoutError", scope: "attempt" });
    expect(seen[0]!.signal.aborted).toBe(true);
    // This fetch ignored the signal and answers after all: the body is cancelled.
    answer(
      new Response(
        new ReadableStream({
          cancel() {
            cancelled = true;
          },
        }),
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(cancelled).toBe(true);
  });

  test("timeoutMs and totalTimeoutMs of Infinity send without a signal of the client's", async () => {
    const { fetch } = scripted(ok());
    const seen: Request[] = [];
    const { data } = await getRun(
      client(
        (request) => {
          seen.push(request);
          return fetch(request);
        },
        { timeoutMs: Number.POSITIVE_INFINITY, totalTimeoutMs: Number.POSITIVE_INFINITY },
      ),
    );
    expect(data).toBeDefined();
    // Nothing ever aborts it: no timer was armed (one would have fired at once).
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen[0]!.signal.aborted).toBe(false);
  });

  test("a streamed body that times out is aborted, not left uploading", async () => {
    const seen: Request[] = [];
    const { fetch } = scripted("hang");
    const pending = client(
      (request) => {
        seen.push(request);
        return fetch(request);
      },
      { timeoutMs: 1000 },
    )
      .POST("/files/upload", {
        body: new Blob(["%PDF-1.7"]).stream() as never,
        bodySerializer: (body: unknown) => body as BodyInit,
        headers: { "content-type": "application/pdf" },
        duplex: "half",
      })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await pending).toMatchObject({ name: "TimeoutError", ambiguous: true });
    expect(seen[0]!.signal.aborted).toBe(true);
  });
});

describe("retry safety", () => {
  test("a run-creating POST through a base URL with a path (a gateway) is still not retried on 500", async () => {
    const { fetch, requests } = scripted(status(500), ok());
    const { error } = await client(fetch).POST("/workflow_runs", {
      baseUrl: "http://gateway.test/proxy/extend",
      body: { workflowId: "workflow_1", rawTexts: ["x"] },
    });
    expect(requests.map((r) => r.url)).toEqual(["http://gateway.test/proxy/extend/workflow_runs"]);
    expect(error).toMatchObject({ status: 500, attempts: 1 });
  });

  test("a GET through the same gateway is retried", async () => {
    const { fetch, requests } = scripted(status(500), ok());
    const pending = client(fetch).GET("/workflow_runs/{workflowRunId}", {
      baseUrl: "http://gateway.test/proxy/extend",
      params: { path: { workflowRunId: "workflow_run_1" } },
    });
    await vi.advanceTimersByTimeAsync(500);
    expect((await pending).data).toBeDefined();
    expect(requests).toHaveLength(2);
  });
});

describe("the caller's signal", () => {
  test("aborting after the answer's headers still cancels reading its body", async () => {
    const controller = new AbortController();
    const reason = new Error("the user left");
    let sent: Request | undefined;
    const fetch = async (request: Request) => {
      sent = request;
      // Headers now; a body that ends only when the request's signal aborts, as fetch's does.
      return new Response(
        new ReadableStream({
          start(stream) {
            request.signal.addEventListener("abort", () => stream.error(request.signal.reason));
          },
        }),
        { headers: { "content-type": "application/json" } },
      );
    };
    const pending = client(fetch)
      .GET("/workflow_runs/{workflowRunId}", {
        params: { path: { workflowRunId: "workflow_run_1" } },
        signal: controller.signal,
      })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toBeDefined();
    controller.abort(reason);
    expect(await pending).toBe(reason);
  });
});

describe("middleware", () => {
  test("sees a real Request it can replace, and the fetch gets what it returned", async () => {
    const { fetch, requests } = scripted(ok());
    const seen: unknown[] = [];
    const c = client(async (request) => {
      seen.push(request.headers.get("x-trace-id"));
      return fetch(request);
    });
    c.use({
      onRequest({ request }) {
        expect(request).toBeInstanceOf(Request);
        const traced = new Request(request);
        traced.headers.set("x-trace-id", "trace_1");
        return traced;
      },
    });
    const { data } = await getRun(c);
    expect(data).toBeDefined();
    expect(requests).toHaveLength(1);
    expect(seen).toEqual(["trace_1"]);
  });

  test("ejecting middleware that was never added leaves the added one working", async () => {
    const { fetch } = scripted(ok());
    const seen: unknown[] = [];
    const c = client(async (request) => {
      seen.push(request.headers.get("x-trace-id"));
      return fetch(request);
    });
    const tracing = {
      onRequest({ request }: { request: Request }) {
        request.headers.set("x-trace-id", "trace_2");
      },
    };
    c.use(tracing);
    c.eject({ onRequest: () => undefined });
    await getRun(c);
    expect(seen).toEqual(["trace_2"]);
  });

  test("a form body is replayed after a 503 with middleware too", async () => {
    const { fetch, requests } = scripted(status(503), ok());
    const c = client(fetch);
    c.use({ onRequest: () => undefined });
    const pending = c.POST("/processors/{id}", {
      params: { path: { id: "dp_1" } },
      body: "name=Invoices" as never,
      bodySerializer: (body: unknown) => new URLSearchParams(body as string),
    });
    await vi.advanceTimersByTimeAsync(500);
    expect((await pending).data).toBeDefined();
    expect(requests.map((r) => r.body)).toEqual(["name=Invoices", "name=Invoices"]);
  });

  test("a per-call fetch gets a real Request (and skips the client's retries)", async () => {
    const { fetch: own } = scripted(ok());
    const seen: unknown[] = [];
    const c = client(scripted().fetch);
    const { data } = await c.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: "workflow_run_1" } },
      fetch: (request: Request) => {
        seen.push(request);
        return own(request);
      },
    });
    expect(data).toBeDefined();
    expect(seen[0]).toBeInstanceOf(Request);
  });
});

describe("the retry budget", () => {
  test("once spent, failures come back at once; successes earn it back", async () => {
    // Budget 5, cost 5: one retry is affordable, the next is not (a success earns back only 1).
    const { fetch, requests } = scripted(status(503), ok(), status(503), status(503));
    const budgeted = client(fetch, { retry: { budget: 5, retryCost: 5 } });
    const first = getRun(budgeted);
    await vi.runAllTimersAsync();
    expect((await first).data).toBeDefined();
    expect(requests).toHaveLength(2);
    const second = getRun(budgeted);
    await vi.runAllTimersAsync();
    expect((await second).error).toMatchObject({ status: 503, attempts: 1 });
    expect(requests).toHaveLength(3);
  });
});

describe("throwOnError", () => {
  test("an error answer is thrown as an ApiError; data is defined otherwise", async () => {
    const { fetch } = scripted(status(404), ok());
    const throwing = createClient({
      token: "sk_test",
      baseUrl: "http://api.test",
      fetch,
      throwOnError: true,
    });
    await expect(
      throwing.GET("/workflow_runs/{workflowRunId}", { params: { path: { workflowRunId: "x" } } }),
    ).rejects.toMatchObject({
      name: "ApiError",
      status: 404,
      attempts: 1,
    });
    const { data } = await throwing.GET("/workflow_runs/{workflowRunId}", {
      params: { path: { workflowRunId: "workflow_run_1" } },
    });
    expect(data.workflowRun.id).toBe("workflow_run_1");
  });
});
