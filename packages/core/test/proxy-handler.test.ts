import { afterEach, describe, expect, test, vi } from "vitest";
import {
  createProxyHandler,
  createWebhookHandler,
  type ProxyHandlerOptions,
} from "../src/handlers/index.js";

// The proxy against a hostile upstream and hostile callers, with the upstream injected as
// `fetch` (the adapter contract suite runs the same attacks over real servers).
const TOKEN = "sk_live_hostile_token_0123456789";

/** Every call the proxy made upstream: the URL, the init, and the signal it was given. */
function proxy(
  reply: (url: string, init: RequestInit) => Response | Promise<Response>,
  options: Partial<ProxyHandlerOptions> = {},
) {
  const calls: { url: string; init: RequestInit }[] = [];
  const onError = vi.fn();
  const handle = createProxyHandler({
    token: TOKEN,
    onError,
    fetch: (async (input: string | URL | Request, init: RequestInit = {}) => {
      const url = String(input);
      calls.push({ url, init });
      return reply(url, init);
    }) as typeof fetch,
    ...options,
  });
  return { handle, calls, onError };
}

const app = (path: string, init?: RequestInit) =>
  new Request(`https://app.test/api/extend${path}`, init);

/** Reads an answer whole; `error` is set when its body failed part-way. */
async function read(response: Response) {
  const chunks: Uint8Array[] = [];
  const reader = response.body?.getReader();
  try {
    for (;;) {
      const next = await reader?.read();
      if (!next || next.done) break;
      chunks.push(next.value);
    }
    return { status: response.status, text: Buffer.concat(chunks).toString(), error: undefined };
  } catch (error) {
    return { status: response.status, text: Buffer.concat(chunks).toString(), error };
  }
}

function expectNoToken(answer: { text: string }, response: Response) {
  expect(answer.text).not.toContain(TOKEN);
  for (const [name, value] of response.headers) expect(`${name}: ${value}`).not.toContain(TOKEN);
}

/** What an echoing gateway answers: the request's headers, in some form. */
const echoed = (init: RequestInit) =>
  `authorization: ${new Headers(init.headers).get("authorization")}`;

/** A 200 answer whose body arrives in chunks of 16 KiB, as from a socket. */
function chunks(text: string) {
  const bytes = new TextEncoder().encode(text);
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 16_384)
          controller.enqueue(bytes.slice(at, at + 16_384));
        controller.close();
      },
    }),
    { status: 200 },
  );
}

afterEach(() => {
  vi.useRealTimers();
});

describe("an upstream that echoes the request", () => {
  test.each([
    [500, "application/json", (init: RequestInit) => JSON.stringify({ headers: echoed(init) })],
    [502, "text/html", (init: RequestInit) => `<pre>${echoed(init)}</pre>`],
    [404, "text/plain", (init: RequestInit) => echoed(init).toUpperCase()],
    [400, "text/plain", (init: RequestInit) => Buffer.from(`x${echoed(init)}`).toString("base64")],
    [
      200,
      "application/json",
      (init: RequestInit) => `{"debug":"${encodeURIComponent(echoed(init))}"}`,
    ],
    [
      201,
      "application/octet-stream",
      (init: RequestInit) => `${"z".repeat(65_530)}${echoed(init)}`,
    ],
  ])(
    "a %i %s answer holding the token is withheld: 502, nothing of it sent, reported",
    async (status, type, body) => {
      const { handle, onError } = proxy(
        (_url, init) => new Response(body(init), { status, headers: { "content-type": type } }),
      );
      const response = await handle(app("/workflow_runs/workflow_run_1"));
      const answer = await read(response);
      expect(answer.status).toBe(502);
      expect(JSON.parse(answer.text)).toEqual({ error: "The Extend API's answer was withheld." });
      expectNoToken(answer, response);
      expect(String(onError.mock.calls[0]?.[0])).toMatch(/held the server's token/);
      expect(String(onError.mock.calls[0]?.[0])).not.toContain(TOKEN);
    },
  );

  test.each(["x-request-id", "retry-after", "content-type"])(
    "a token in the %s header is withheld",
    async (header) => {
      const { handle } = proxy(
        (_url, init) => new Response("{}", { status: 429, headers: { [header]: echoed(init) } }),
      );
      const response = await handle(app("/workflow_runs/workflow_run_1"));
      const answer = await read(response);
      expect(answer.status).toBe(502);
      expectNoToken(answer, response);
    },
  );

  test("a long answer with the token deep inside is cut before the token, never sent whole", async () => {
    const { handle, onError } = proxy((_url, init) =>
      chunks(`${"a".repeat(200_000)}${echoed(init)}${"b".repeat(1000)}`),
    );
    const response = await handle(app("/files/file_1"));
    expect(response.status).toBe(200);
    const answer = await read(response);
    expect(answer.error).toBeInstanceOf(Error);
    expectNoToken(answer, response);
    expect(answer.text.length).toBeGreaterThan(150_000);
    expect(String(onError.mock.calls[0]?.[0])).toMatch(/it was cut/);
  });

  test("a long clean answer streams through byte for byte", async () => {
    const body = `${"é".repeat(100_000)}${TOKEN.slice(0, -1)}`;
    const { handle, onError } = proxy(() => chunks(body));
    const answer = await read(await handle(app("/files/file_1")));
    expect(answer).toEqual({ status: 200, text: body, error: undefined });
    expect(onError).not.toHaveBeenCalled();
  });
});

describe("an upstream that redirects", () => {
  test.each([301, 302, 303, 307, 308])(
    "a %i is not followed: the fetch was told not to, and the caller gets 502",
    async (status) => {
      const { handle, calls, onError } = proxy(
        () => new Response(null, { status, headers: { location: "/processors" } }),
      );
      const response = await handle(app("/workflow_runs/workflow_run_1"));
      expect(response.status).toBe(502);
      expect(response.headers.get("location")).toBeNull();
      expect(calls).toHaveLength(1);
      expect(calls[0]?.init.redirect).toBe("manual");
      expect(String(onError.mock.calls[0]?.[0])).toMatch(`redirect (${status})`);
    },
  );
});

describe("an upstream that stalls", () => {
  /** An upstream that never answers, until the call is aborted. */
  const hang = (_url: string, init: RequestInit) =>
    new Promise<Response>((_, reject) => {
      init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
    });

  test("no answer within timeoutMs: the call is aborted and the caller gets 504", async () => {
    vi.useFakeTimers();
    const { handle, calls } = proxy(hang, { timeoutMs: 1_000 });
    const pending = handle(app("/workflow_runs/workflow_run_1"));
    await vi.advanceTimersByTimeAsync(999);
    expect(calls[0]?.init.signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const response = await pending;
    expect(response.status).toBe(504);
    expect(calls[0]?.init.signal?.aborted).toBe(true);
  });

  test("the default timeout is a minute", async () => {
    vi.useFakeTimers();
    const { handle } = proxy(hang);
    const pending = handle(app("/workflow_runs/workflow_run_1"));
    await vi.advanceTimersByTimeAsync(59_999);
    let settled = false;
    void pending.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).status).toBe(504);
  });

  test("an answer that stops half-way is cut once it makes no progress for timeoutMs", async () => {
    vi.useFakeTimers();
    let signal: AbortSignal | undefined;
    const { handle } = proxy(
      (_url, init) => {
        signal = init.signal ?? undefined;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array(100_000).fill(0x61));
            signal?.addEventListener("abort", () => controller.error(signal?.reason));
          },
        });
        return new Response(body, { status: 200 });
      },
      { timeoutMs: 500 },
    );
    const response = await handle(app("/files/file_1"));
    expect(response.status).toBe(200);
    const reading = read(response);
    await vi.advanceTimersByTimeAsync(500);
    expect((await reading).error).toBeDefined();
    expect(signal?.aborted).toBe(true);
  });

  test("an upload that keeps moving is not timed out, however long it takes in all", async () => {
    vi.useFakeTimers();
    const { handle } = proxy(
      async (_url, init) => {
        await new Response(init.body).arrayBuffer();
        return Response.json({ success: true });
      },
      { timeoutMs: 1_000 },
    );
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 800));
        if (++sent > 5) controller.close();
        else controller.enqueue(new Uint8Array(10));
      },
    });
    const pending = handle(
      app("/files/upload", {
        method: "POST",
        body,
        duplex: "half",
        headers: { "content-type": "multipart/form-data; boundary=b" },
      } as RequestInit),
    );
    await vi.advanceTimersByTimeAsync(6 * 800);
    expect((await pending).status).toBe(200);
  });
});

describe("a caller that goes away", () => {
  test("aborts the upstream call", async () => {
    const caller = new AbortController();
    let upstreamSignal: AbortSignal | undefined;
    const { handle } = proxy((_url, init) => {
      upstreamSignal = init.signal ?? undefined;
      const answer = new Promise<Response>((_, reject) =>
        init.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
      );
      caller.abort();
      return answer;
    });
    const response = await handle(app("/workflow_runs/workflow_run_1", { signal: caller.signal }));
    expect(upstreamSignal?.aborted).toBe(true);
    expect(response.status).toBe(499);
  });

  test("one already gone makes no upstream call", async () => {
    const caller = new AbortController();
    caller.abort();
    const { handle, calls } = proxy(() => Response.json({}));
    await handle(app("/workflow_runs/workflow_run_1", { signal: caller.signal }));
    expect(calls).toHaveLength(0);
  });
});

describe("what is forwarded", () => {
  test("only the query parameters the operation declares", async () => {
    const { handle, calls } = proxy(() => Response.json({}));
    await handle(app("/files/file_1?rawText=true&token=x&path=files&html=1&rawText=false"));
    expect(calls[0]?.url).toBe(
      "https://api.extend.ai/files/file_1?rawText=true&html=1&rawText=false",
    );
  });

  test("no body for an operation that takes none", async () => {
    const { handle, calls } = proxy(() => Response.json({}), { allow: ["deleteFile"] });
    const response = await handle(
      app("/files/file_1", {
        method: "DELETE",
        body: '{"cascade":true}',
        headers: { "content-type": "application/json" },
      }),
    );
    expect(response.status).toBe(200);
    expect(calls[0]?.init.body).toBeNull();
  });

  test.each([
    ["text/plain", "/workflow_runs"],
    ["application/x-www-form-urlencoded", "/workflow_runs"],
    ["multipart/form-data; boundary=b", "/workflow_runs"],
    ["application/json", "/files/upload"],
    [null, "/workflow_runs"],
  ])(
    "a body sent as %s to %s, which takes another type, is refused with 415",
    async (type, path) => {
      const { handle, calls } = proxy(() => Response.json({}));
      const response = await handle(
        app(path, { method: "POST", body: "{}", headers: type ? { "content-type": type } : {} }),
      );
      // A string body gets text/plain from the Request constructor when none is given.
      expect(response.status).toBe(415);
      expect(calls).toHaveLength(0);
    },
  );

  test("authorize gets the operation with its path parameters", async () => {
    const authorize = vi.fn(() => true);
    const { handle } = proxy(() => Response.json({}), { authorize });
    await handle(app("/workflow_runs/workflow_run_42"));
    expect(authorize).toHaveBeenCalledWith(expect.any(Request), {
      operationId: "getWorkflowRun",
      method: "GET",
      path: "/workflow_runs/{workflowRunId}",
      params: { workflowRunId: "workflow_run_42" },
    });
  });
});

describe("paths shaped like another operation", () => {
  test.each([
    ["updateWorkflowRun", "POST", "/workflow_runs/batch"],
    ["updateWorkflowRun", "POST", "/workflow_runs/BATCH/"],
    ["getWorkflowRun", "GET", "/workflow_runs/batch"],
    ["deleteWorkflowRun", "DELETE", "/workflow_runs/Batch"],
    ["updateEvaluationSetItem", "POST", "/evaluation_set_items/bulk"],
    ["deleteEvaluationSetItem", "DELETE", "/evaluation_set_items/bulk"],
    ["getFile", "GET", "/files/upload"],
    ["deleteFile", "DELETE", "/files/UPLOAD"],
  ] as const)(
    "with only %s allowed, %s %s is 404, and neither authorize nor the API hear of it",
    async (allowed, method, path) => {
      const authorize = vi.fn(() => true);
      const { handle, calls } = proxy(() => Response.json({}), { allow: [allowed], authorize });
      const response = await handle(
        app(path, {
          method,
          ...(method === "POST"
            ? { body: "{}", headers: { "content-type": "application/json" } }
            : {}),
        }),
      );
      expect(response.status).toBe(404);
      expect(authorize).not.toHaveBeenCalled();
      expect(calls).toHaveLength(0);
    },
  );

  test.each(["__proto__", "constructor", "toString", "hasOwnProperty"])(
    "%j in allow is an unknown operation",
    (name) => {
      expect(() => createProxyHandler({ token: TOKEN, allow: [name as "getFile"] })).toThrow(
        /unknown operation/,
      );
    },
  );

  test.each([0, -1, Number.NaN])("a timeoutMs of %d is refused", (timeoutMs) => {
    expect(() => createProxyHandler({ token: TOKEN, timeoutMs })).toThrow(/timeoutMs/);
  });
});

describe("cross-site callers", () => {
  test.each([
    ["cross-site", false, 403],
    ["same-origin", false, 200],
    ["same-site", false, 200],
    ["none", false, 200],
    [null, false, 200],
    ["cross-site", true, 200],
  ])(
    "Sec-Fetch-Site %s with allowCrossSite %s answers %i",
    async (site, allowCrossSite, status) => {
      const { handle } = proxy(() => Response.json({}), { allowCrossSite });
      const response = await handle(
        app("/workflow_runs/workflow_run_1", {
          headers: site ? { "sec-fetch-site": site } : {},
        }),
      );
      expect(response.status).toBe(status);
    },
  );
});

describe("a malformed Host header", () => {
  test.each(["[::1", "a b", "%%%", "a/b", "", "example.com:99999999"])(
    "%j is answered 400 by the proxy and the webhook receiver, before anything else",
    async (host) => {
      const { handle, calls } = proxy(() => Response.json({}));
      const proxied = await handle(app("/workflow_runs/workflow_run_1", { headers: { host } }));
      expect(proxied.status).toBe(400);
      expect(calls).toHaveLength(0);
      const webhook = createWebhookHandler({ secret: "wss_x" });
      const received = await webhook(
        new Request("https://app.test/webhooks", { method: "POST", headers: { host } }),
      );
      expect(received.status).toBe(400);
    },
  );

  test.each(["app.test", "127.0.0.1:3000", "[::1]:8080", "xn--bcher-kva.example"])(
    "%j is a host",
    async (host) => {
      const { handle } = proxy(() => Response.json({}));
      expect(
        (await handle(app("/workflow_runs/workflow_run_1", { headers: { host } }))).status,
      ).toBe(200);
    },
  );
});

describe("from a review of the hardening", () => {
  test.each([`${TOKEN}\n`, ` ${TOKEN}`, "sk live"])(
    "a token with whitespace (%j) is refused when created: headers trim it, the scan would not",
    (token) => {
      expect(() => createProxyHandler({ token })).toThrow(/spaces or line breaks .*trim it/);
    },
  );

  test.each(["x-foo", "gzip, x-foo", "zstd", "compress"])(
    "an answer in a content-encoding fetch does not undo (%s) is withheld",
    async (coding) => {
      const { handle } = proxy(
        () => new Response("opaque bytes", { headers: { "content-encoding": coding } }),
      );
      expect((await handle(app("/files/file_1"))).status).toBe(502);
    },
  );

  test.each(["gzip", "br", "identity"])(
    "an answer in %s (undone by fetch) passes",
    async (coding) => {
      const { handle } = proxy(
        () => new Response("{}", { headers: { "content-encoding": coding } }),
      );
      expect((await handle(app("/files/file_1"))).status).toBe(200);
    },
  );

  test.each([
    ["UTF-16LE", (text: string) => Buffer.from(text, "utf16le")],
    ["UTF-16BE", (text: string) => Buffer.from(text, "utf16le").swap16()],
    [
      "\\u-escaped JSON",
      (text: string) =>
        text.replace(/[\s\S]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
    ],
    [
      "fully percent-encoded",
      (text: string) =>
        text.replace(
          /[\s\S]/g,
          (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`,
        ),
    ],
  ] as const)("a token echoed as %s is withheld", async (_, encode) => {
    const { handle } = proxy((_url, init) => new Response(encode(echoed(init)), { status: 500 }));
    const response = await handle(app("/files/file_1"));
    expect(response.status).toBe(502);
  });

  test("a token split between a header and the body is withheld", async () => {
    const { handle } = proxy(
      () =>
        new Response(TOKEN.slice(12), {
          status: 500,
          headers: { "x-request-id": `req_${TOKEN.slice(0, 12)}` },
        }),
    );
    const response = await handle(app("/files/file_1"));
    expect(response.status).toBe(502);
    expectNoToken(await read(response), response);
  });

  test("an upstream status outside 200-599 is a 502, not a crash", async () => {
    const { handle } = proxy(() => {
      const answer = new Response("{}");
      Object.defineProperty(answer, "status", { value: 600 });
      return answer;
    });
    expect((await handle(app("/files/file_1"))).status).toBe(502);
  });

  test("a cut answer is reported, naming who stalled: a caller that stops reading", async () => {
    vi.useFakeTimers();
    // An upstream whose body fails when its call is aborted, as a real fetch's does.
    const { handle, onError } = proxy(
      (_url, init) => {
        const bytes = new Uint8Array(300_000).fill(0x61);
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let at = 0; at < bytes.length; at += 16_384)
              controller.enqueue(bytes.slice(at, at + 16_384));
            init.signal?.addEventListener("abort", () => controller.error(init.signal?.reason));
          },
        });
        return new Response(body);
      },
      { timeoutMs: 500 },
    );
    const response = await handle(app("/files/file_1"));
    const reader = response.body!.getReader();
    await reader.read(); // one piece, then the caller reads no more
    await vi.advanceTimersByTimeAsync(500);
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow();
    expect(String(onError.mock.calls.at(-1)?.[0])).toMatch(/waiting on the caller/);
  });

  test("no timer is left behind once the exchange is over, even if upload chunks come late", async () => {
    vi.useFakeTimers();
    // The upstream answers without reading the upload; the upload goes on afterwards.
    const { handle } = proxy(() => Response.json({ success: true }), { timeoutMs: 1_000 });
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++sent > 3) controller.close();
        else controller.enqueue(new Uint8Array(10));
      },
    });
    const response = await handle(
      app("/files/upload", {
        method: "POST",
        body,
        duplex: "half",
        headers: { "content-type": "multipart/form-data; boundary=b" },
      } as RequestInit),
    );
    expect(response.status).toBe(200);
    await response.text();
    expect(vi.getTimerCount()).toBe(0);
  });

  test("an authorize that reads the body gets a 500 it can act on, not a crash", async () => {
    const { handle, onError, calls } = proxy(() => Response.json({}), {
      authorize: async (request) => {
        await request.text();
        return true;
      },
    });
    const response = await handle(
      app("/workflow_runs", {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
      }),
    );
    expect(response.status).toBe(500);
    expect(calls).toHaveLength(0);
    expect(onError).toHaveBeenCalledTimes(1);
  });
});
