// Two webhook receivers in two processes share one Redis dedupe store: each delivery,
// sent to both at once, is handled once; a handler that throws releases its claim.

import {
  assertBuilt,
  deliver as deliverSigned,
  type Receiver,
  startReceiver,
} from "@extendkit/adapter-contract/processes";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  connect,
  dropPrefix,
  type NodeRedis,
  REDIS_URL,
  redisAvailable,
  uniquePrefix,
} from "./redis.js";

const SECRET = "wss_multi_process";
const ROUNDS = 20;
const available = await redisAvailable();

describe.skipIf(!available)("two receiver processes sharing a Redis store", () => {
  const prefix = uniquePrefix("multi");
  let redis: NodeRedis;
  let receivers: Receiver[] = [];

  beforeAll(async () => {
    assertBuilt(new URL("../dist/index.js", import.meta.url));
    redis = await connect();
    const script = new URL("./fixtures/http-receiver.mjs", import.meta.url).href;
    const env = { REDIS_URL, PREFIX: prefix, SECRET };
    receivers = await Promise.all([startReceiver(script, env), startReceiver(script, env)]);
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    if (redis) {
      await dropPrefix(redis, prefix);
      await redis.close();
    }
  });

  const deliver = (receiver: Receiver, eventId: string) => deliverSigned(receiver, eventId, SECRET);
  const effectsOf = async (eventId: string) =>
    Number((await redis.get(`${prefix}effects:${eventId}`)) ?? 0);
  const handlerOf = async (eventId: string) =>
    Number(await redis.get(`${prefix}handler:${eventId}`));

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
      expect(await effectsOf(eventId)).toBe(1);
      const pid = await handlerOf(eventId);
      winners.set(pid, (winners.get(pid) ?? 0) + 1);
    }
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
      expect(await effectsOf(eventId)).toBe(0);
      const retried = await deliver(second, eventId);
      expect(retried).toEqual({ status: 200, body: { received: true } });
      expect(await effectsOf(eventId)).toBe(1);
      expect(await handlerOf(eventId)).toBe(second.pid);
      // Handled now: a third delivery, to either process, is a duplicate.
      expect((await deliver(first, eventId)).body.duplicate).toBe(true);
    }
  });
});
