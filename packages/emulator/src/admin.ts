import type { IncomingMessage, ServerResponse } from "node:http";
import type { Schemas } from "@extendkit/core";
import {
  checkEditTemplateInput,
  checkProcessorInput,
  checkRateLimitsInput,
  checkReviewInput,
  checkStepsInput,
  checkWebhookEndpointInput,
  checkWorkflowInput,
} from "./admin-schemas.js";
import { type Context, nowIso, verifySignedUrl } from "./context.js";
import { ApiError, badRequest, notFound, toApiError } from "./errors.js";
import { type createFaults, type FaultOptions, faultRuleProblem } from "./faults.js";
import { fileBytes, getFile } from "./files.js";
import { readJson, sendJson } from "./http.js";
import { newId, PREFIX } from "./ids.js";
import { createProcessor, publishVersion } from "./processors-repo.js";
import type { createRateLimiter, RateLimitOptions } from "./rate-limit.js";
import type { Webhooks } from "./webhooks.js";
import { reviewWorkflowRun } from "./workflow-runs.js";
import { createWorkflow, deleteWorkflow, getWorkflow, setWorkflowSteps } from "./workflows-repo.js";

/** The admin API's prefix: reserved for the emulator, never part of the Extend API. */
export const ADMIN_PREFIX = "/_emulator";

interface AdminDeps {
  ctx: Context;
  webhooks: Webhooks;
  faults: ReturnType<typeof createFaults>;
  limiter: ReturnType<typeof createRateLimiter>;
  authorized: (req: IncomingMessage) => boolean;
}

type Route = [
  method: string,
  pattern: RegExp,
  handler: (m: string[], body: unknown, url: URL) => unknown | Promise<unknown>,
];

/**
 * Handles `/_emulator/...`: downloads behind presigned URLs (no token, a signature instead)
 * and the admin API (the bearer token): workflows with steps, reviews, webhook endpoints and
 * their delivery log, faults, rate limits, edit templates and evaluation runs.
 */
export function createAdmin({ ctx, webhooks, faults, limiter, authorized }: AdminDeps) {
  const signed: Array<[RegExp, (m: string[]) => Promise<{ type: string; body: Buffer | string }>]> =
    [
      [
        /^\/_emulator\/files\/([^/]+)\/content$/,
        async ([, id]) => {
          // A file made from a URL is fetched on first use, here as in every other read.
          const body = await fileBytes(ctx, id as string);
          return { type: mediaType(getFile(ctx, id as string).data.type), body };
        },
      ],
      [
        /^\/_emulator\/parser_runs\/([^/]+)\/chunks$/,
        async ([, id]) => {
          const run = ctx.store.get("parser_run", id as string)?.data;
          if (run?.object !== "parser_run") throw notFound("Parser run", id as string);
          return { type: "application/json", body: JSON.stringify(run.chunks) };
        },
      ],
      [
        /^\/_emulator\/webhook_payloads\/([^/]+)$/,
        async ([, id]) => ({
          type: "application/json",
          body: JSON.stringify(webhooks.payloadOf(id as string)),
        }),
      ],
    ];

  const routes: Route[] = [
    [
      "GET",
      /^\/_emulator\/health$/,
      () => ({ ok: true, baseUrl: ctx.baseUrl, queuedJobs: ctx.store.queuedJobs() }),
    ],
    [
      "POST",
      /^\/_emulator\/workflows$/,
      (_m, body) => {
        checkWorkflowInput(body);
        const input = body as { id?: string; name: string; steps?: never[]; deploy?: boolean };
        const created = createWorkflow(ctx, {
          ...input,
          name: input.name,
          deploy: input.deploy !== false,
        });
        return {
          workflow: created.workflow,
          draft: created.internal.draft,
          versions: created.internal.versions,
        };
      },
    ],
    [
      "GET",
      /^\/_emulator\/workflows\/([^/]+)$/,
      ([, id]) => {
        const stored = getWorkflow(ctx, id as string);
        return {
          workflow: stored.data,
          draft: stored.internal.draft,
          versions: stored.internal.versions,
        };
      },
    ],
    [
      "PUT",
      /^\/_emulator\/workflows\/([^/]+)\/steps$/,
      ([, id], body) => {
        checkStepsInput(body);
        const input = body as { steps: never[]; deploy?: boolean };
        const updated = setWorkflowSteps(ctx, id as string, {
          steps: input.steps,
          deploy: input.deploy !== false,
        });
        return {
          workflow: updated.workflow,
          draft: updated.internal.draft,
          versions: updated.internal.versions,
        };
      },
    ],
    [
      "DELETE",
      /^\/_emulator\/workflows\/([^/]+)$/,
      ([, id]) => {
        deleteWorkflow(ctx, id as string);
        return { deleted: id };
      },
    ],
    [
      "POST",
      /^\/_emulator\/processors$/,
      (_m, body) => {
        checkProcessorInput(body);
        const input = body as {
          id?: string;
          name: string;
          type: Schemas["ProcessorType"];
          config: Schemas["ProcessorConfig"];
          publish?: boolean;
        };
        const processor = createProcessor(ctx, input);
        const version =
          input.publish === false
            ? undefined
            : publishVersion(ctx, processor.id, { releaseType: "major" });
        return { processor, ...(version ? { publishedVersion: version } : {}) };
      },
    ],
    [
      "POST",
      /^\/_emulator\/workflow_runs\/([^/]+)\/review$/,
      ([, id], body) => {
        checkReviewInput(body);
        const input = body as { decision: string; note?: string; reviewer?: string };
        return {
          workflowRun: reviewWorkflowRun(ctx, id as string, {
            approve: input.decision === "approve",
            note: input.note,
            reviewer: input.reviewer,
          }),
        };
      },
    ],
    ["GET", /^\/_emulator\/webhook_endpoints$/, () => ({ endpoints: webhooks.endpoints() })],
    [
      "POST",
      /^\/_emulator\/webhook_endpoints$/,
      (_m, body) => {
        checkWebhookEndpointInput(body);
        return { endpoint: webhooks.createEndpoint(body as never) };
      },
    ],
    [
      "DELETE",
      /^\/_emulator\/webhook_endpoints\/([^/]+)$/,
      ([, id]) => {
        webhooks.deleteEndpoint(id as string);
        return { deleted: id };
      },
    ],
    [
      "GET",
      /^\/_emulator\/webhook_deliveries$/,
      (_m, _b, url) => ({
        deliveries: webhooks.deliveries({
          eventId: url.searchParams.get("eventId") ?? undefined,
          endpointId: url.searchParams.get("endpointId") ?? undefined,
          eventType: url.searchParams.get("eventType") ?? undefined,
          state: url.searchParams.get("state") ?? undefined,
        }),
      }),
    ],
    [
      "POST",
      /^\/_emulator\/webhook_deliveries\/([^/]+)\/redeliver$/,
      ([, id]) => {
        webhooks.redeliver(id as string);
        return { redelivering: id };
      },
    ],
    ["GET", /^\/_emulator\/faults$/, () => ({ rules: faults.rules })],
    [
      "PUT",
      /^\/_emulator\/faults$/,
      (_m, body) => {
        // Checked before use: a status outside 400-599 would make the server throw while
        // answering (an unhandled rejection, and a client left waiting).
        const input = body as FaultOptions | undefined;
        if (!Array.isArray(input?.rules))
          throw badRequest("rules must be an array of fault rules.");
        input.rules.forEach((rule, i) => {
          const problem = faultRuleProblem(rule);
          if (problem) throw badRequest(`rules[${i}]${problem}.`);
        });
        faults.set(input);
        return { rules: faults.rules };
      },
    ],
    [
      "DELETE",
      /^\/_emulator\/faults$/,
      () => {
        faults.set({ rules: [] });
        return { rules: [] };
      },
    ],
    ["GET", /^\/_emulator\/rate_limits$/, () => ({ limits: limiter.limits })],
    [
      "PUT",
      /^\/_emulator\/rate_limits$/,
      (_m, body) => {
        checkRateLimitsInput(body);
        limiter.set(body as RateLimitOptions);
        return { limits: limiter.limits };
      },
    ],
    [
      "DELETE",
      /^\/_emulator\/rate_limits$/,
      () => {
        limiter.set(false);
        return { limits: {} };
      },
    ],
    [
      "POST",
      /^\/_emulator\/edit_templates$/,
      (_m, body) => {
        checkEditTemplateInput(body);
        const input = body as {
          id?: string;
          name: string;
          description?: string;
          fileId: string;
          config?: Schemas["EditConfig"];
          schemaConfig?: Schemas["EditSchemaGenerationConfig"];
        };
        const now = nowIso();
        const template: Schemas["EditTemplate"] = {
          object: "edit_template",
          id: input.id ?? newId(PREFIX.editTemplate),
          name: input.name,
          ...(input.description ? { description: input.description } : {}),
          file: getFile(ctx, input.fileId).data,
          config: input.config ?? {},
          ...(input.schemaConfig ? { schemaConfig: input.schemaConfig } : {}),
          createdAt: now,
          updatedAt: now,
        };
        ctx.store.insert("edit_template", template.id, template, { name: template.name });
        return { editTemplate: template };
      },
    ],
    [
      "POST",
      /^\/_emulator\/evaluation_sets\/([^/]+)\/runs$/,
      ([, id]) => {
        const set = ctx.store.get("evaluation_set", id as string)?.data;
        if (!set) throw notFound("Evaluation set", id as string);
        const processor = ctx.store.get("processor", set.processorId)?.data;
        if (!processor) throw notFound("Processor", set.processorId);
        const items = ctx.store.all("evaluation_set_item", { parentId: set.id });
        const now = nowIso();
        const run: Schemas["BatchProcessorRun"] = {
          object: "batch_processor_run",
          id: newId(PREFIX.batchProcessorRun),
          processorId: processor.id,
          processorVersionId: processor.draftVersion.id,
          processorName: processor.name,
          metrics: { numFiles: items.length },
          status: "PENDING",
          source: "EVAL_SET",
          sourceId: set.id,
          runCount: 0,
          options: {},
          createdAt: now,
          updatedAt: now,
        };
        ctx.store.insert("batch_processor_run", run.id, run, {
          parentId: processor.id,
          sourceId: set.id,
          status: run.status,
        });
        ctx.engine.enqueue("batch_processor_run", run.id, 90);
        return { batchProcessorRun: run };
      },
    ],
  ];

  return {
    async handle(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string) {
      try {
        for (const [pattern, serve] of signed) {
          const m = pattern.exec(url.pathname);
          if (!m || (req.method !== "GET" && req.method !== "HEAD")) continue;
          if (!verifySignedUrl(ctx, url.pathname, url.searchParams)) {
            throw new ApiError(
              403,
              "FORBIDDEN",
              "This link is invalid or has expired; fetch the resource again for a fresh URL.",
            );
          }
          const { type, body } = await serve(m);
          res.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(body) });
          res.end(body);
          return;
        }
        const isHealth = url.pathname === `${ADMIN_PREFIX}/health`;
        if (!isHealth && !authorized(req)) {
          throw new ApiError(
            401,
            "UNAUTHORIZED",
            "The admin API needs the emulator's bearer token.",
          );
        }
        const allow = new Set<string>();
        const wanted = req.method === "HEAD" ? "GET" : req.method;
        for (const [method, pattern, handler] of routes) {
          const m = pattern.exec(url.pathname);
          if (!m) continue;
          if (method !== wanted) {
            allow.add(method);
            if (method === "GET") allow.add("HEAD");
            continue;
          }
          const body = method === "GET" || method === "DELETE" ? undefined : await readJson(req);
          sendJson(res, 200, await handler(m, body, url), { "x-request-id": requestId });
          return;
        }
        if (allow.size) {
          const list = [...allow].sort().join(", ");
          throw new ApiError(
            405,
            "INVALID_REQUEST",
            `${req.method} is not allowed on ${url.pathname}; it allows ${list}.`,
            false,
            { allow: list },
          );
        }
        throw new ApiError(404, "NOT_FOUND", `No admin route for ${req.method} ${url.pathname}.`);
      } catch (error) {
        const apiError = toApiError(error);
        req.resume();
        sendJson(res, apiError.status, apiError.body(requestId), {
          "x-request-id": requestId,
          ...apiError.headers,
        });
      }
    },
  };
}

function mediaType(type: Schemas["FileType"] | undefined) {
  switch (type) {
    case "PDF":
      return "application/pdf";
    case "CSV":
      return "text/csv";
    case "HTML":
      return "text/html";
    case "XML":
      return "application/xml";
    case "TXT":
      return "text/plain; charset=utf-8";
    default:
      return "application/octet-stream";
  }
}
