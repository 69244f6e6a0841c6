import assert from "node:assert/strict";
import { test } from "node:test";
import { guardLeaks, testDatabaseUrl, testEngine } from "../../engine/test/helpers.js";
import { runKeel } from "./helpers.js";

guardLeaks();
const engine = await testEngine();
const DB = { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: engine.schema };

test("keel queues show: flow settings and the keys with the most waiting jobs", async () => {
  await engine.upsertQueue("sync", { flow: { key: "payload.account", concurrency: 2 } });
  const jobs = (account: string, n: number) =>
    Array.from({ length: n }, () => ({ queue: "sync", target: { handler: "h" }, payload: { account } }));
  await engine.enqueueMany([...jobs("big", 30), ...jobs("mid", 5), ...jobs("small", 1)]);
  await engine.claim({
    queue: "sync",
    handlers: ["h"],
    limit: 10,
    leaseMs: 30_000,
    workerId: "w",
    limited: true,
  });

  const human = await runKeel(["queues", "show", "sync", "--top", "2"], DB);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /flow key payload\.account, concurrency 2 per key/);
  assert.match(human.stdout, /3 keys hold jobs; most waiting:/);
  assert.match(human.stdout, /big\s+28\s+2/);
  assert.doesNotMatch(human.stdout, /small/, "--top 2");

  const asJson = await runKeel(["queues", "show", "sync", "--json"], DB);
  const out = JSON.parse(asJson.stdout);
  assert.deepEqual(out.flowBacklog.top, [
    { key: "big", waiting: 28, running: 2 },
    { key: "mid", waiting: 3, running: 2 },
    { key: "small", waiting: 0, running: 1 },
  ]);
  assert.deepEqual(out.queue.flow, { key: "payload.account", concurrency: 2 });
});
