// The real PostgreSQL these tests run against, and the schema each test file owns.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { quoteSchema } from "../src/sql.js";

/** Where the server is: EXTENDKIT_TEST_POSTGRES_URL, or the local default (trust auth). */
export const POSTGRES_URL =
  process.env.EXTENDKIT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * Whether the server answers. Outside CI a missing server skips the suites, loudly; under
 * CI=true it is a failure, so a CI without PostgreSQL never passes by running nothing.
 */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch (error) {
    const why = `PostgreSQL is not reachable at ${POSTGRES_URL} (${(error as Error).message}).`;
    if (process.env.CI === "true") throw new Error(`${why} CI=true, so this is a failure.`);
    console.warn(
      [
        "",
        "=".repeat(78),
        `SKIPPED: the @extendkit/postgres suites in this file. ${why}`,
        "Install and start PostgreSQL (Debian: apt-get install postgresql, then",
        "pg_ctlcluster --skip-systemctl-redirect 15 main start), or point",
        "EXTENDKIT_TEST_POSTGRES_URL at a server where this role may create schemas.",
        "=".repeat(78),
        "",
      ].join("\n"),
    );
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A schema name no other run or test file uses. */
export const uniqueSchema = (label: string) =>
  `extendkit_test_${label}_${randomBytes(4).toString("hex")}`;

/** A pool on the test server. */
export const newPool = (max = 10) => new pg.Pool({ connectionString: POSTGRES_URL, max });

/** Drops test schemas (and everything in them). */
export async function dropSchemas(pool: pg.Pool, schemas: Iterable<string>): Promise<void> {
  for (const schema of schemas)
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteSchema(schema)} CASCADE`);
}

/**
 * A one-step (parse) workflow on the emulator: these suites measure the runners, so the
 * emulator should keep up, even beside every other suite on a two-core machine.
 */
export async function parseOnlyWorkflow(emulator: { url: string; token: string }): Promise<string> {
  const response = await fetch(`${emulator.url}/_emulator/workflows`, {
    method: "POST",
    headers: { authorization: `Bearer ${emulator.token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Parse only", steps: [{ type: "PARSE", name: "Parse" }] }),
  });
  if (!response.ok) throw new Error(`creating the workflow failed: ${await response.text()}`);
  return ((await response.json()) as { workflow: { id: string } }).workflow.id;
}
