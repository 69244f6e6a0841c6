import assert from "node:assert/strict";
import { test } from "node:test";
import { guardLeaks, testEngine } from "../../engine/test/helpers.js";
import { KeelMetrics } from "../src/metrics/index.js";

guardLeaks();
const engine = await testEngine();

test("keel_flow_keys counts keys per queue and state, never naming a key", async () => {
  await engine.upsertQueue("sync", { flow: { key: "payload.account", concurrency: 1 } });
  await engine.enqueueMany(
    ["acct-secret-1", "acct-secret-1", "acct-secret-2", "acct-secret-3"].map((account) => ({
      queue: "sync",
      target: { handler: "h" },
      payload: { account },
    })),
  );
  await engine.claim({
    queue: "sync",
    handlers: ["h"],
    limit: 1,
    leaseMs: 30_000,
    workerId: "w",
    limited: true,
  });
  const text = await new KeelMetrics({ engine }).registry.metrics();
  assert.match(text, /^keel_flow_keys\{queue="sync",state="waiting"\} 3$/m);
  assert.match(text, /^keel_flow_keys\{queue="sync",state="running"\} 1$/m);
  assert.doesNotMatch(text, /acct-secret/);
});
