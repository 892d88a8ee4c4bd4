import type { WorkflowRun } from "@extendkit/core";
import { extendProxy, extendWebhooks } from "@extendkit/express";
import express, { type Express } from "express";
import { page } from "./page.js";

export interface AppOptions {
  /** The Extend API the proxy talks to (the emulator in this example). */
  baseUrl: string;
  token: string;
  /** The signing secret of the webhook endpoint pointed at this app. */
  webhookSecret: string;
  workflowId: string;
}

/**
 * The example app: a page to upload a document and run the workflow on it through the proxy,
 * the webhook route that records finished runs, and the routes the page reads results from.
 */
export function createApp(options: AppOptions): Express {
  // Finished runs, as the webhooks told them. A real app would use its database.
  const results = new Map<string, WorkflowRun>();
  const finished = (event: { payload: WorkflowRun }) => {
    results.set(event.payload.id, event.payload);
  };
  const app = express();
  // The webhook route comes before any body parser: it needs the raw bytes.
  app.post(
    "/webhooks/extend",
    extendWebhooks({
      secret: options.webhookSecret,
      on: {
        "workflow_run.completed": finished,
        "workflow_run.failed": finished,
        "workflow_run.needs_review": finished,
      },
    }),
  );
  // The browser uploads and runs through the proxy; the token stays on the server.
  // authorize is where a real app checks its session.
  app.use(extendProxy({ token: options.token, baseUrl: options.baseUrl, authorize: () => true }));
  app.get("/", (_req, res) => {
    res.type("html").send(page(options.workflowId));
  });
  app.get("/results/:runId", (req, res) => {
    const run = results.get(req.params.runId);
    if (!run) {
      res.status(404).json({ status: "WAITING", message: "No webhook for this run yet." });
      return;
    }
    res.json({ status: run.status, outputs: run.outputs });
  });
  return app;
}
