import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { ADMIN_PREFIX, createAdmin } from "./admin.js";
import { batchProcessorRunJob } from "./batch-processor-runs.js";
import { BlobStore } from "./blobs.js";
import { type Context, signedUrl } from "./context.js";
import { editRunJob } from "./edit-runs.js";
import { Engine } from "./engine.js";
import { ApiError, badRequest, toApiError } from "./errors.js";
import { applyFaults, deliver, waitAfterBody } from "./fault-effects.js";
import { createFaults } from "./faults.js";
import { queryObject, readJson } from "./http.js";
import { newId, PREFIX } from "./ids.js";
import { type EmulatorOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { parserRunJob } from "./parser-runs.js";
import { processorRunJob } from "./processor-runs.js";
import { createOcrEngine } from "./processors/ocr.js";
import { categoryOf, createRateLimiter } from "./rate-limit.js";
import { createRouter, decodeParams } from "./router.js";
import { evaluationHandlers } from "./routes/evaluation.js";
import { fileHandlers } from "./routes/files.js";
import { editHandlers, parseHandlers } from "./routes/parse-edit.js";
import { processorHandlers } from "./routes/processors.js";
import type { Handler, Handlers } from "./routes/types.js";
import { workflowHandlers } from "./routes/workflows.js";
import { applySeed, loadSeed } from "./seed.js";
import { Store } from "./store.js";
import { createRequestValidator } from "./validation.js";
import { Webhooks } from "./webhooks.js";
import { workflowRunJob } from "./workflow-runs.js";

const handlers: Handlers = {
  ...workflowHandlers,
  ...processorHandlers,
  ...fileHandlers,
  ...parseHandlers,
  ...editHandlers,
  ...evaluationHandlers,
};

/** A running emulator. */
export interface Emulator {
  /** Root URL of the emulated API, e.g. `http://127.0.0.1:4010`. */
  url: string;
  /** The bearer token it accepts. */
  token: string;
  /** Ids of the default seed, for convenience. */
  seed: {
    /** The invoice workflow (parse, classify, extract, validate). */
    workflowId: string;
    /** The same workflow with a human-review step. */
    reviewWorkflowId: string;
    /** The document-type classifier processor. */
    classifierId: string;
    /** The invoice extraction processor. */
    extractorId: string;
  };
  /** Resolves once no run is queued or executing (polls every 10 ms). */
  idle(): Promise<void>;
  /** Stops serving, interrupts runs (they resume at the next start on the same database) and closes the database. */
  close(): Promise<void>;
  /** The resolved options, for inspection. */
  options: ResolvedOptions;
}

/**
 * Starts the emulator: an HTTP server for the 44 endpoints of Extend API 2025-04-21, with
 * state in SQLite, runs executed asynchronously, signed webhooks, rate limits and faults.
 *
 * @example
 * ```ts
 * import { startEmulator } from "@extendkit/emulator";
 * import { createClient } from "@extendkit/core";
 *
 * const emulator = await startEmulator({ port: 0 });
 * const extend = createClient({ baseUrl: emulator.url, token: emulator.token });
 * const { data } = await extend.POST("/workflow_runs", {
 *   body: { workflowId: emulator.seed.workflowId, rawTexts: ["Invoice #7, total $10.00"] },
 * });
 * await emulator.close();
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const resolved = resolveOptions(options);
  const log = resolved.log ?? (() => {});
  const inMemory = resolved.db === ":memory:";
  const dataDir =
    resolved.dataDir ??
    (inMemory ? mkdtempSync(path.join(tmpdir(), "extendkit-emulator-")) : `${resolved.db}.files`);
  const store = new Store(resolved.db);
  const blobs = new BlobStore(dataDir);
  await blobs.init();

  let urlKey = store.getSetting<string>("urlKey");
  if (!urlKey) {
    urlKey = randomBytes(32).toString("hex");
    store.setSetting("urlKey", urlKey);
  }

  let engine: Engine | undefined;
  const ctx: Context = {
    options: resolved,
    store,
    blobs,
    ocr: createOcrEngine(),
    baseUrl: "",
    urlKey,
    emit: (type, payload, scope) => webhooks.emit(type, payload, scope),
    engine: {
      enqueue: (kind, id, priority) => engine?.enqueue(kind, id, priority),
      abort: (id, reason) => engine?.abort(id, reason),
      turn: () => engine?.turn() ?? Promise.resolve(),
      settled: (id, timeoutMs) => engine?.settled(id, timeoutMs) ?? Promise.resolve(),
    },
  };
  const webhooks = new Webhooks(
    store,
    resolved.webhooks,
    (id) => signedUrl(ctx, `/_emulator/webhook_payloads/${id}`, 3600),
    log,
  );
  engine = new Engine(
    store,
    resolved.concurrency,
    {
      workflow_run: (id, signal) => workflowRunJob(ctx, id, signal),
      processor_run: (id, signal) => processorRunJob(ctx, id, signal),
      parser_run: (id, signal) => parserRunJob(ctx, id, signal),
      edit_run: (id, signal) => editRunJob(ctx, id, signal),
      batch_processor_run: (id, signal) => batchProcessorRunJob(ctx, id, signal),
    },
    log,
  );

  applySeed(ctx, webhooks, loadSeed(resolved.seed));

  const router = createRouter();
  const validator = createRequestValidator();
  const faults = createFaults(resolved.faults);
  const limiter = createRateLimiter(resolved.rateLimit);
  const authorized = (req: IncomingMessage) =>
    req.headers.authorization === `Bearer ${resolved.token}`;
  const admin = createAdmin({ ctx, webhooks, faults, limiter, authorized });

  const server = createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const requestId = newId(PREFIX.request);
    const started = performance.now();
    const url = requestUrl(req.url);
    const method = req.method ?? "GET";
    let applied: string[] = [];
    // Set when the client goes away before the answer ends: what it had got by then.
    let closed: { headersSent: boolean } | undefined;
    res.once("close", () => {
      if (!res.writableEnded) closed = { headersSent: res.headersSent };
    });
    // How the answer goes out once the faults drawn for the request have had their say.
    let outcome: Parameters<typeof deliver>[2] = { delivery: "normal", ms: 0 };
    try {
      if (!url.ok) throw badRequest(`Invalid request: the request target ${url.problem}.`);
      if (url.pathname.startsWith(`${ADMIN_PREFIX}/`)) {
        await admin.handle(req, res, url, requestId);
        return;
      }
      const match = router.match(method, url.pathname);
      if (match === undefined)
        throw new ApiError(
          404,
          "NOT_FOUND",
          `There is no ${method} ${url.pathname} in API 2025-04-21.`,
        );
      if ("allow" in match) {
        const allow = match.allow.join(", ");
        throw new ApiError(
          405,
          "INVALID_REQUEST",
          `${method} is not allowed on ${url.pathname}; it allows ${allow}.`,
          false,
          { allow },
        );
      }
      if (!req.headers.authorization) {
        throw new ApiError(
          401,
          "UNAUTHORIZED",
          "Missing Authorization header: send `Authorization: Bearer <your API key>`.",
        );
      }
      if (!authorized(req))
        throw new ApiError(401, "UNAUTHORIZED", "The bearer token is not valid for this emulator.");
      const version = req.headers["x-extend-api-version"];
      let warning: string | undefined;
      if (version === undefined) {
        if (resolved.missingVersion === "reject") {
          throw new ApiError(
            400,
            "INVALID_REQUEST",
            "Missing x-extend-api-version header: send `x-extend-api-version: 2025-04-21`.",
          );
        }
        warning =
          "No x-extend-api-version header was sent; the request was served as 2025-04-21. Send the header to pin the version.";
      } else if (version !== "2025-04-21") {
        throw new ApiError(
          400,
          "INVALID_REQUEST",
          `The emulator implements API version 2025-04-21 only; got x-extend-api-version: ${version}.`,
        );
      }
      const wait = limiter.take(categoryOf(match.operationId, method));
      if (wait > 0) {
        throw new ApiError(
          429,
          "RATE_LIMIT_EXCEEDED",
          `Rate limit exceeded; retry after ${wait} s.`,
          true,
          { "retry-after": String(wait) },
        );
      }

      // Decoded only now: before auth, a malformed escape must not cost more than a 401.
      const decoded = decodeParams(match.rawParams);
      if ("malformed" in decoded)
        throw badRequest(
          `Invalid request: the path parameter \`${decoded.malformed}\` has a malformed percent-escape; encode ids with encodeURIComponent.`,
        );

      const hits = faults.draw(match.operationId);
      applied = hits.map((fault) => fault.type);
      const applying = await applyFaults(hits, req, res);
      if (applying.done) return;
      outcome = applying;

      const query = queryObject(url.searchParams);
      validator.query(match.operationId, query);
      let body: unknown;
      if (validator.takesJson(match.operationId)) {
        body = await readJson(req);
        validator.body(match.operationId, body);
      }
      // A request whose client left during a wait that a departure cancels is not applied.
      if (!(await waitAfterBody(applying.afterBody, res))) return;
      const handler = handlers[match.operationId] as Handler<typeof match.operationId>;
      const responseHeaders: Record<string, string> = {};
      const result = (await handler({
        ctx,
        params: decoded.params,
        query: query as never,
        body: body as never,
        req,
        requestId,
        headers: responseHeaders,
      })) as Record<string, unknown>;
      const answer = warning && result.success === true ? { ...result, warning } : result;
      await deliver(req, res, outcome, 200, answer, {
        ...responseHeaders,
        "x-request-id": requestId,
      });
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.status >= 500) log(`error ${method} ${url.pathname}: ${(error as Error).stack}`);
      if (!res.headersSent && !res.destroyed) {
        // Drain what the client is still sending, so it reads the answer instead of a reset.
        req.resume();
        // A slow or cut answer applies to errors too; a lost one only to work that was done.
        const errorOutcome =
          outcome.delivery === "lost" ? { ...outcome, delivery: "normal" as const } : outcome;
        await deliver(req, res, errorOutcome, apiError.status, apiError.body(requestId), {
          "x-request-id": requestId,
          ...apiError.headers,
        });
      }
    } finally {
      // What the client really got: an answer cut short or never sent is not a 200.
      const sent = closed ? closed.headersSent : res.headersSent;
      const result =
        !closed && res.writableEnded
          ? String(res.statusCode)
          : sent
            ? `${res.statusCode}, cut before the body ended`
            : "no answer, connection closed";
      const took = (performance.now() - started).toFixed(1);
      const tags = applied.length ? ` [faults: ${applied.join(", ")}]` : "";
      log(`${method} ${url.pathname}${url.search} → ${result} (${took} ms)${tags}`);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(resolved.port, resolved.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  ctx.baseUrl = `http://${host}:${address.port}`;
  engine.start();
  webhooks.start();

  let closed = false;
  return {
    url: ctx.baseUrl,
    token: resolved.token,
    seed: {
      workflowId: "workflow_invoices",
      reviewWorkflowId: "workflow_invoices_review",
      classifierId: "dp_document_classifier",
      extractorId: "dp_invoice_extractor",
    },
    options: resolved,
    async idle() {
      while (!engine.idle()) await new Promise((r) => setTimeout(r, 10));
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await engine.stop();
      await webhooks.stop();
      // Its worker thread would keep the process alive.
      await ctx.ocr.close();
      store.close();
      if (inMemory && !resolved.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The request target as a URL. Origin-form targets are appended to a fixed origin rather
 * than resolved against it, so `//x` stays a path; a target no URL parser accepts is
 * reported, not thrown.
 */
function requestUrl(
  target = "/",
): (URL & { ok: true }) | { ok: false; problem: string; pathname: string; search: string } {
  try {
    const url = new URL(target.startsWith("/") ? `http://emulator${target}` : target);
    return Object.assign(url, { ok: true as const });
  } catch {
    return {
      ok: false,
      problem: `${JSON.stringify(target.slice(0, 100))} is not a valid URL path`,
      pathname: target.slice(0, 100),
      search: "",
    };
  }
}
