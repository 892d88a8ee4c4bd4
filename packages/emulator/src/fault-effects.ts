import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sleep } from "./engine.js";
import { ApiError } from "./errors.js";
import type { FaultRule } from "./faults.js";

/** How the answer of a request that got through its faults is delivered. */
export type Delivery = "normal" | "lost" | "slow" | "cut";

/**
 * What the faults drawn for a request did: `done` when one of them answered (or dropped)
 * the request itself, else how the real answer must be delivered, and the pause between
 * the pieces of a `slow-body`.
 */
export type FaultOutcome =
  | { done: true }
  | {
      done: false;
      delivery: Delivery;
      ms: number;
      /** Waits once the request body is read, before the work: a `latency` (phase
       * `after-body`) that a leaving client cancels, or a `slow-apply` that it does not. */
      afterBody: Array<{ ms: number; applyAnyway: boolean }>;
    };

/**
 * The waits of `afterBody`, in order. Resolves to false when the client left during a wait
 * that a departure cancels: the request must not be applied.
 */
export async function waitAfterBody(
  waits: ReadonlyArray<{ ms: number; applyAnyway: boolean }>,
  res: ServerResponse,
): Promise<boolean> {
  for (const wait of waits) {
    if (wait.applyAnyway) {
      await sleep(wait.ms, new AbortController().signal);
      continue;
    }
    const left = new AbortController();
    const onClose = () => left.abort();
    res.once("close", onClose);
    try {
      await sleep(wait.ms, left.signal);
    } catch {
      return false;
    } finally {
      res.off("close", onClose);
    }
  }
  return true;
}

/** Applies the faults drawn for a request, in rule order. */
export async function applyFaults(
  hits: readonly FaultRule[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<FaultOutcome> {
  let delivery: Delivery = "normal";
  let ms = 100;
  const afterBody: Array<{ ms: number; applyAnyway: boolean }> = [];
  for (const fault of hits) {
    switch (fault.type) {
      case "latency":
        if (fault.phase === "after-body")
          afterBody.push({ ms: fault.ms ?? 100, applyAnyway: false });
        else await sleep(fault.ms ?? 100, new AbortController().signal);
        break;
      case "slow-apply":
        afterBody.push({ ms: fault.ms ?? 100, applyAnyway: true });
        break;
      case "reset":
        req.socket.destroy();
        return { done: true };
      case "status": {
        const status = fault.status ?? 500;
        // Every 429 carries Retry-After, so clients back off (brief §5 check 37).
        throw new ApiError(
          status,
          status === 429 ? "RATE_LIMIT_EXCEEDED" : "INTERNAL_ERROR",
          `Injected fault: HTTP ${status}.`,
          true,
          status === 429 ? { "retry-after": String(fault.retryAfter ?? 1) } : {},
        );
      }
      case "rate-limit": {
        const seconds = fault.retryAfter ?? 1;
        throw new ApiError(
          429,
          "RATE_LIMIT_EXCEEDED",
          `Rate limit exceeded; retry after ${seconds} s.`,
          true,
          { "retry-after": String(seconds) },
        );
      }
      case "echo":
        req.resume();
        echo(req, res, fault);
        return { done: true };
      case "redirect":
        req.resume();
        res.writeHead(fault.status ?? 302, { location: fault.location ?? "/processors" });
        res.end();
        return { done: true };
      case "hang":
        req.resume();
        if (!res.destroyed) await once(res, "close");
        return { done: true };
      case "lost-response":
        delivery = "lost";
        break;
      case "slow-body":
        delivery = "slow";
        ms = fault.ms ?? 100;
        break;
      case "cut-body":
        delivery = "cut";
        break;
    }
  }
  return { done: false, delivery, ms, afterBody };
}

/** Answers with the request repeated back, as a gateway's debugging error page does. */
function echo(req: IncomingMessage, res: ServerResponse, fault: FaultRule): void {
  const status = fault.status ?? 502;
  const head = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    head.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  const padding = ".".repeat(fault.padBytes ?? 0);
  const error = { success: false, error: "Bad gateway", code: "BAD_GATEWAY", retryable: true };
  let type = "application/json";
  let body: string;
  const headers: Record<string, string> = {};
  switch (fault.format ?? "json") {
    case "json":
      body = JSON.stringify({
        ...error,
        padding,
        request: { method: req.method, url: req.url, headers: req.headers },
      });
      break;
    case "text":
      type = "text/plain";
      body = `${padding}\n${head.join("\r\n")}`;
      break;
    case "html":
      type = "text/html";
      body = `<html><body><h1>${status}</h1>${padding}<pre>${head.join("\n").replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`)}</pre></body></html>`;
      break;
    case "base64":
      type = "text/plain";
      body = `${padding}\n${Buffer.from(head.join("\r\n")).toString("base64")}`;
      break;
    case "header":
      body = JSON.stringify({ ...error, padding });
      headers["x-request-id"] = String(req.headers.authorization);
      headers["retry-after"] = String(req.headers.authorization);
      break;
  }
  res.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Sends a JSON answer as its delivery says: whole, never, slowly, or cut half-way. */
export async function deliver(
  req: IncomingMessage,
  res: ServerResponse,
  outcome: { delivery: Delivery; ms: number },
  status: number,
  body: unknown,
  headers: Record<string, string>,
): Promise<void> {
  if (outcome.delivery === "lost") {
    // The work is committed; the answer never arrives.
    req.socket.destroy();
    return;
  }
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": bytes.length,
    ...headers,
  });
  if (outcome.delivery === "cut") {
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => req.socket.destroy());
    return;
  }
  if (outcome.delivery === "slow") {
    // A client that leaves ends the trickle at once.
    const left = new AbortController();
    const onClose = () => left.abort();
    res.once("close", onClose);
    const piece = Math.ceil(bytes.length / 8);
    try {
      for (let at = 0; at < bytes.length && !res.destroyed; at += piece) {
        if (at > 0) await sleep(outcome.ms, left.signal);
        res.write(bytes.subarray(at, at + piece));
      }
    } catch {
      return;
    } finally {
      res.off("close", onClose);
    }
  }
  if (!res.destroyed) res.end(outcome.delivery === "slow" ? undefined : bytes);
}
