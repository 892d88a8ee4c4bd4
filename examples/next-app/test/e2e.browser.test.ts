import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { start } from "../server/start.mjs";
import { INVOICE, invoicePdf } from "./invoice-pdf.js";

/** Debian's Chromium; nothing is ever downloaded. Override with CHROMIUM_PATH. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Where the final page's screenshot is saved. */
const SCREENSHOT = fileURLToPath(new URL("../test-results/run-page.png", import.meta.url));

let running: Awaited<ReturnType<typeof start>>;
let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `No Chromium at ${CHROMIUM}. Install Debian's: sudo apt-get install -y chromium (or set CHROMIUM_PATH).`,
    );
  running = await start({ port: 0, output: "capture" });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await running?.close();
});

it("uploads a generated PDF, shows the run updating to its extracted fields, and the verified webhook", async () => {
  const page = await browser.newPage();
  const failures: string[] = [];
  page.on("pageerror", (error) => failures.push(error.message));
  // The app's own calls must not fail; Next's router may abort its RSC prefetches.
  page.on("requestfailed", (request) => {
    if (new URL(request.url()).pathname.startsWith("/api/"))
      failures.push(`${request.url()}: ${request.failure()?.errorText}`);
  });

  await page.goto(running.appUrl);
  await page.locator('input[type="file"]').setInputFiles({
    name: "northwind-invoice.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from(await invoicePdf()),
  });
  await page.getByRole("button", { name: "Upload and run" }).click();
  await page.waitForURL(/\/runs\/workflow_run_/);

  const status = page.getByTestId("run-status");
  await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe("PROCESSED");
  // The page showed the run before it finished, then updated: it did not just load a result.
  const history = await page.getByTestId("status-history").locator("li").allTextContents();
  expect(history.at(-1)).toBe("PROCESSED");
  expect(history.length).toBeGreaterThan(1);
  expect(["PENDING", "PROCESSING"]).toContain(history[0]);

  await expect
    .poll(() => page.getByTestId("field-invoice_number").textContent())
    .toContain(INVOICE.number);
  expect(await page.getByTestId("field-vendor_name").textContent()).toContain(INVOICE.vendor);
  expect(await page.getByTestId("field-total").textContent()).toContain("2418.50 USD");

  const webhook = page.getByTestId("webhook");
  await expect
    .poll(() => webhook.textContent(), { timeout: 30_000 })
    .toMatch(/Webhook workflow_run\.completed received and verified \(.+, PROCESSED\)/);

  await mkdir(fileURLToPath(new URL("../test-results/", import.meta.url)), { recursive: true });
  await writeFile(SCREENSHOT, await page.screenshot({ fullPage: true }));
  expect(failures).toEqual([]);
});
