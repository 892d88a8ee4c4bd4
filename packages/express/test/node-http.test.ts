import { once } from "node:events";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { toWebRequest, writeWebResponse } from "../src/index.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]) {
  server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("toWebRequest and writeWebResponse", () => {
  it("carry method, URL, headers and a streamed body across, and keep every set-cookie", async () => {
    const url = await serve(async (req, res) => {
      const request = toWebRequest(req, res);
      const text = await request.text();
      const response = new Response(
        `${request.method} ${new URL(request.url).pathname} ${request.headers.get("x-a")} ${text}`,
        {
          status: 201,
          headers: [
            ["set-cookie", "a=1; Path=/"],
            ["set-cookie", "b=2; Path=/"],
            ["x-b", "2"],
          ],
        },
      );
      await writeWebResponse(res, response);
    });
    const response = await fetch(`${url}/p?q=1`, {
      method: "POST",
      headers: { "x-a": "1" },
      body: "hello",
    });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe("POST /p 1 hello");
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
    expect(response.headers.get("x-b")).toBe("2");
  });

  it("aborts the Web request's signal when the client goes away, and cancels the body", async () => {
    let aborted!: () => void;
    const sawAbort = new Promise<void>((resolve) => {
      aborted = resolve;
    });
    let cancelled!: () => void;
    const sawCancel = new Promise<void>((resolve) => {
      cancelled = resolve;
    });
    const url = await serve(async (req, res) => {
      const request = toWebRequest(req, res);
      request.signal.addEventListener("abort", () => aborted());
      // A body that never ends on its own: only the client leaving stops it.
      const body = new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          controller.enqueue(new TextEncoder().encode("tick\n"));
          await new Promise((r) => setTimeout(r, 5));
        },
        cancel: () => cancelled(),
      });
      await writeWebResponse(res, new Response(body));
    });
    const client = httpRequest(url, (res) => {
      res.once("data", () => client.destroy());
    });
    client.on("error", () => {});
    client.end();
    await Promise.all([sawAbort, sawCancel]);
  });

  it("cuts the connection when the body fails part-way, so a short body never looks whole", async () => {
    const url = await serve(async (req, res) => {
      toWebRequest(req, res);
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull: (controller) => {
          if (sent) controller.error(new Error("upstream broke"));
          else {
            sent = true;
            controller.enqueue(new TextEncoder().encode("part"));
          }
        },
      });
      await writeWebResponse(res, new Response(body));
    });
    // Whether the head got out before the cut or not, the client must see a failure.
    const outcome = await fetch(url)
      .then((response) => response.text())
      .then(
        () => "looked whole",
        () => "broken",
      );
    expect(outcome).toBe("broken");
  });
});
