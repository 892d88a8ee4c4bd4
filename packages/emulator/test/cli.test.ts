/**
 * The emulator's CLI, run as a user runs it (`node dist/cli.js`, built first): the banner's
 * `export` lines point `createClient()` at it with no options, the folder it creates for
 * its state ignores itself in git, and `sample` writes an invoice the seeded workflow reads.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient, uploadFile, waitForWorkflowRun } from "@extendkit/core";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const run = promisify(execFile);

let dir: string;
let server: ChildProcess | undefined;
let banner = "";

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "extendkit-emulator-cli-"));
  server = spawn(process.execPath, [cli, "--port", "0", "--quiet"], { cwd: dir });
  await new Promise<void>((resolve, reject) => {
    server?.stdout?.on("data", (chunk: Buffer) => {
      banner += chunk.toString();
      if (banner.includes("export EXTEND_API_KEY=")) resolve();
    });
    server?.once("exit", (code) => reject(new Error(`the CLI exited (${code}) before its banner`)));
  });
}, 30_000);
afterAll(() => {
  server?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => vi.unstubAllEnvs());

/** The variables of the banner's `export NAME=value` lines, as a shell would set them. */
function exportsOf(text: string): Record<string, string> {
  return Object.fromEntries(
    [...text.matchAll(/^\s*export (\w+)=(\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
}

describe("extendkit-emulator", () => {
  test("prints the two export lines that point createClient() at it", async () => {
    const exported = exportsOf(banner);
    expect(Object.keys(exported).sort()).toEqual(["EXTEND_API_KEY", "EXTEND_BASE_URL"]);
    expect(exported.EXTEND_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(banner).toContain("workflow_invoices");
    for (const [name, value] of Object.entries(exported)) vi.stubEnv(name, value);

    const { data, error } = await createClient().GET("/files");
    expect(error).toBeUndefined();
    expect(data?.files).toEqual([]);
  });

  test("creates its state folder with a .gitignore that ignores all of it", () => {
    const state = path.join(dir, ".extendkit-emulator");
    expect(readdirSync(state)).toContain("extend.db");
    expect(readFileSync(path.join(state, ".gitignore"), "utf8")).toMatch(/^\*$/m);
  });

  test("`sample` writes an invoice whose values the seeded workflow extracts", async () => {
    const { stdout } = await run(process.execPath, [cli, "sample", "invoice.pdf"], { cwd: dir });
    expect(stdout).toMatch(/^wrote invoice\.pdf: invoice NW-2025-0412, total 691\.44 USD/);
    await expect(
      run(process.execPath, [cli, "sample", "invoice.pdf"], { cwd: dir }),
    ).rejects.toThrow(/invoice\.pdf exists; pass another file name/);

    for (const [name, value] of Object.entries(exportsOf(banner))) vi.stubEnv(name, value);
    const extend = createClient();
    const bytes = readFileSync(path.join(dir, "invoice.pdf"));
    const upload = await uploadFile(extend, new Uint8Array(bytes), { name: "invoice.pdf" });
    if (upload.error) throw upload.error;
    const created = await extend.POST("/workflow_runs", {
      body: { workflowId: "workflow_invoices", files: [{ fileId: upload.data.file.id }] },
    });
    if (created.error) throw created.error;
    const finished = await waitForWorkflowRun(extend, created.data.workflowRuns[0]?.id as string, {
      intervalMs: 50,
    });
    const extracted = finished.outputs.find((o) => o.type === "EXTRACT")?.output as {
      value: Record<string, unknown>;
    };
    expect(extracted.value).toMatchObject({
      invoice_number: "NW-2025-0412",
      invoice_date: "2025-04-12",
      due_date: "2025-05-12",
      vendor_name: "Northwind Office Supply",
      customer_name: "Globex Corporation",
      total: { amount: 691.44, iso_4217_currency_code: "USD" },
    });
  });

  test("an unknown command fails with a message that says where to look", async () => {
    await expect(run(process.execPath, [cli, "smaple"], { cwd: dir })).rejects.toThrow(
      /unknown command "smaple"; see extendkit-emulator --help/,
    );
  });
});
