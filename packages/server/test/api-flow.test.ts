import assert from "node:assert/strict";
import { test } from "node:test";
import { guardLeaks } from "../../engine/test/helpers.js";
import { contractCheckedApi } from "./api-harness.js";

guardLeaks();
const { engine, call } = await contractCheckedApi({});

test("POST /v1/jobs takes flow options: singleton answers 200 with the job it kept, debounce replaces the pending one", async () => {
  const single = { queue: "sync", target: { handler: "h" }, singleton: { key: "acct-1" } };
  const first = await call("POST", "/v1/jobs", single);
  assert.equal(first.statusCode, 201);
  const again = await call("POST", "/v1/jobs", single);
  assert.equal(again.statusCode, 200);
  assert.deepEqual(again.json(), { id: first.json().id, state: "available", deduplicated: true });

  const debounce = { key: "doc-1", quietMs: 60_000 };
  const a = await call("POST", "/v1/jobs", {
    queue: "recalc",
    target: { handler: "h" },
    payload: 1,
    debounce,
  });
  const b = await call("POST", "/v1/jobs", {
    queue: "recalc",
    target: { handler: "h" },
    payload: 2,
    debounce,
  });
  assert.equal(b.json().id, a.json().id);
  assert.equal(b.json().state, "scheduled");
  assert.equal((await engine.getJob(a.json().id)).payload, 2);
});

test("POST /v1/jobs: contradicting flow options are a 400 flow_options_conflict", async () => {
  const res = await call("POST", "/v1/jobs", {
    target: { handler: "h" },
    dedupeKey: "x",
    singleton: { key: "y", mode: "queue" },
  });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().error.code, "flow_options_conflict");
});

test("GET /v1/queues shows a queue's flow settings, tenantConcurrency as key tenant", async () => {
  await engine.upsertQueue("billing", {
    flow: { key: "payload.account", concurrency: 2, rate: { limit: 10, windowSeconds: 1 } },
  });
  await engine.upsertQueue("tenants", { tenantConcurrency: 3 });
  const res = await call("GET", "/v1/queues");
  const byName = new Map(res.json().queues.map((q: { name: string; flow: unknown }) => [q.name, q.flow]));
  assert.deepEqual(byName.get("billing"), {
    key: "payload.account",
    concurrency: 2,
    rate: { limit: 10, windowSeconds: 1 },
  });
  assert.deepEqual(byName.get("tenants"), { key: "tenant", concurrency: 3 });
});
