// The real Redis these tests run against, and the key prefix each test file owns.
import { randomBytes } from "node:crypto";
import { createClient } from "redis";

/** Where the server is: EXTENDKIT_TEST_REDIS_URL, or the local default. */
export const REDIS_URL = process.env.EXTENDKIT_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export type NodeRedis = ReturnType<typeof createClient>;

/** A connected node-redis client that does not retry forever when the server is gone. */
export const connect = (): Promise<NodeRedis> =>
  createClient({
    url: REDIS_URL,
    socket: { connectTimeout: 3000, reconnectStrategy: false },
  }).connect() as Promise<NodeRedis>;

/**
 * Whether the server answers. Outside CI a missing server skips the suites, loudly; under
 * CI=true it is a failure, so a CI without Redis never passes by running nothing.
 */
export async function redisAvailable(): Promise<boolean> {
  let client: NodeRedis | undefined;
  try {
    client = await connect();
    await client.ping();
    return true;
  } catch (error) {
    const why = `Redis is not reachable at ${REDIS_URL} (${(error as Error).message}).`;
    if (process.env.CI === "true") throw new Error(`${why} CI=true, so this is a failure.`);
    console.warn(
      [
        "",
        "=".repeat(78),
        `SKIPPED: the @extendkit/redis suites in this file. ${why}`,
        "Install and start Redis (Debian: apt-get install redis-server, then",
        "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''), or point",
        "EXTENDKIT_TEST_REDIS_URL at a server these tests may write keys to.",
        "=".repeat(78),
        "",
      ].join("\n"),
    );
    return false;
  } finally {
    await client?.close().catch(() => {});
  }
}

/** A key prefix no other run or test file uses. */
export const uniquePrefix = (label: string) =>
  `extendkit:test:${label}:${randomBytes(4).toString("hex")}:`;

/** Deletes every key under a prefix. */
export async function dropPrefix(client: NodeRedis, prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 }))
    keys.push(...batch);
  if (keys.length > 0) await client.del(keys);
}
