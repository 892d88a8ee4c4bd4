// Two webhook receivers in two processes share one Postgres dedupe store: each delivery,
// sent to both at once, is handled once; a handler that throws releases its claim.

import {
  assertBuilt,
  deliver as deliverSigned,
  type Receiver,
  startReceiver,
} from "@extendkit/adapter-contract/processes";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { quoteSchema } from "../src/sql.js";
import { dropSchemas, newPool, POSTGRES_URL, postgresAvailable, uniqueSchema } from "./postgres.js";

const SECRET = "wss_multi_process";
const ROUNDS = 20;
const available = await postgresAvailable();

describe.skipIf(!available)("two receiver processes sharing a Postgres store", () => {
  const schema = uniqueSchema("multi");
  const s = quoteSchema(schema);
  let pool: pg.Pool;
  let receivers: Receiver[] = [];

  beforeAll(async () => {
    assertBuilt(new URL("../dist/index.js", import.meta.url));
    pool = newPool(2);
    // Only the side-effect tables: the receivers migrate the store's table themselves,
    // both at once, on their first delivery.
    await pool.query(`CREATE SCHEMA ${s}`);
    await pool.query(`CREATE TABLE ${s}.effects (event_id text NOT NULL, pid int NOT NULL)`);
    await pool.query(`CREATE TABLE ${s}.attempts (event_id text NOT NULL, pid int NOT NULL)`);
    const script = new URL("./fixtures/express-receiver.mjs", import.meta.url).href;
    const env = { POSTGRES_URL, SCHEMA: schema, SECRET };
    receivers = await Promise.all([startReceiver(script, env), startReceiver(script, env)]);
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    if (pool) {
      await dropSchemas(pool, [schema]);
      await pool.end();
    }
  });

  const deliver = (receiver: Receiver, eventId: string) => deliverSigned(receiver, eventId, SECRET);
  const effectsOf = async (eventId: string) =>
    (await pool.query(`SELECT pid FROM ${s}.effects WHERE event_id = $1`, [eventId])).rows;

  test(`the same delivery sent to both at once is handled once, ${ROUNDS} rounds over`, async () => {
    const [a, b] = receivers as [Receiver, Receiver];
    const winners = new Map<number, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const eventId = `evt_round_${round}`;
      const answers = await Promise.all([deliver(a, eventId), deliver(b, eventId)]);
      expect(
        answers.map((x) => x.status),
        a.stderr() + b.stderr(),
      ).toEqual([200, 200]);
      expect(answers.filter((x) => x.body.duplicate === true)).toHaveLength(1);
      const effects = await effectsOf(eventId);
      expect(effects).toHaveLength(1);
      winners.set(effects[0].pid, (winners.get(effects[0].pid) ?? 0) + 1);
    }
    const total = await pool.query(`SELECT count(*)::int AS n FROM ${s}.effects`);
    expect(total.rows[0].n).toBe(ROUNDS);
    // Which process wins a round is up to the race; each answered every round.
    expect([...winners.keys()].every((pid) => pid === a.pid || pid === b.pid)).toBe(true);
    console.log(
      `handled by ${[a, b].map((r) => `pid ${r.pid}: ${winners.get(r.pid) ?? 0}`).join(", ")}`,
    );
  });

  test("a handler that throws releases its claim, so the redelivery is handled", async () => {
    const [a, b] = receivers as [Receiver, Receiver];
    for (let i = 0; i < 4; i++) {
      const eventId = `evt_flaky_${i}`;
      const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
      expect((await deliver(first, eventId)).status).toBe(500);
      expect(await effectsOf(eventId)).toHaveLength(0);
      const retried = await deliver(second, eventId);
      expect(retried).toEqual({ status: 200, body: { received: true } });
      expect(await effectsOf(eventId)).toEqual([{ pid: second.pid }]);
      // Handled now: a third delivery, to either process, is a duplicate.
      expect((await deliver(first, eventId)).body.duplicate).toBe(true);
    }
    const versions = await pool.query(`SELECT version FROM ${s}.schema_migrations`);
    expect(versions.rowCount).toBeGreaterThan(0);
  });
});
