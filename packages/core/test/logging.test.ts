import { describe, expect, test } from "vitest";
import { createClient } from "../src/index.js";
import { createLogger } from "../src/logging.js";

describe("logging", () => {
  test("is off by default, and never writes the token or headers, even at debug", async () => {
    const lines: string[] = [];
    const sink = (level: string, message: string, fields: Record<string, unknown>) =>
      lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
    const fetch = async () =>
      Response.json(
        { success: false, error: "nope" },
        { status: 404, headers: { "x-request-id": "req_1" } },
      );
    const quiet = createClient({
      token: "sk_secret_123",
      baseUrl: "http://api.test",
      fetch,
      logging: { sink },
    });
    await quiet.GET("/files", {});
    expect(lines).toEqual([]);

    const loud = createClient({
      token: "sk_secret_123",
      baseUrl: "http://api.test",
      fetch,
      logging: { level: "debug", sink },
    });
    await loud.POST("/workflows", { body: { name: "confidential name" } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warn POST http:\/\/api\.test\/workflows → 404/);
    expect(lines[0]).toContain("req_1");
    expect(lines.join("\n")).not.toContain("sk_secret_123");
    expect(lines.join("\n")).not.toContain("confidential name");
  });

  test("writes bodies only when asked", async () => {
    const lines: string[] = [];
    const sink = (_: string, message: string, fields: Record<string, unknown>) =>
      lines.push(`${message} ${JSON.stringify(fields)}`);
    const fetch = async () =>
      Response.json({
        success: true,
        workflow: { object: "workflow", id: "w", version: "draft", name: "n" },
      });
    const c = createClient({
      token: "sk_1",
      baseUrl: "http://api.test",
      fetch,
      logging: { level: "debug", sink, logBodies: true },
    });
    await c.POST("/workflows", { body: { name: "visible name" } });
    expect(lines.join("\n")).toContain("visible name");
    expect(lines.join("\n")).not.toContain("sk_1");
  });

  test("EXTENDKIT_LOG turns it on where the runtime has an environment", () => {
    const before = process.env.EXTENDKIT_LOG;
    process.env.EXTENDKIT_LOG = "warn";
    try {
      const logger = createLogger(undefined);
      expect(logger.enabled("warn")).toBe(true);
      expect(logger.enabled("info")).toBe(false);
    } finally {
      if (before === undefined) delete process.env.EXTENDKIT_LOG;
      else process.env.EXTENDKIT_LOG = before;
    }
  });
});
