// A loopback API stub for the client-overhead benchmark: answers every GET with the same
// workflow run, at once. Runs in its own process so it does not share the client's core.
import { createServer } from "node:http";

const run = {
  success: true,
  workflowRun: {
    object: "workflow_run",
    id: "workflow_run_bench000000000000",
    name: "invoice.pdf",
    url: "https://dashboard.extend.ai/workflows/workflow_bench?workflowRunId=workflow_run_bench000000000000",
    status: "PROCESSED",
    metadata: { source: "bench" },
    files: [
      {
        object: "file",
        id: "file_bench",
        name: "invoice.pdf",
        type: "PDF",
        metadata: { pageCount: 1 },
        createdAt: "2025-01-01T00:00:00.000Z",
        updatedAt: "2025-01-01T00:00:00.000Z",
      },
    ],
    initialRunAt: "2025-01-01T00:00:00.000Z",
    reviewed: false,
    outputs: [],
    stepRuns: [],
    workflow: { object: "workflow", id: "workflow_bench", version: "1", name: "Bench" },
  },
};
const body = JSON.stringify(run);
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
