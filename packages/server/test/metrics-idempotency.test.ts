import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { Engine } from "@keel/engine";
import { freshSchema, testDatabaseUrl } from "../../engine/test/helpers.js";
import { fingerprint } from "../src/api/idempotency.js";
import { buildApp } from "../src/http/app.js";
import { KeelMetrics } from "../src/metrics/index.js";
import { guardServerLeaks } from "./helpers.js";

// keel_idempotency_requests_total{outcome} counts the API's Idempotency-Key requests, read
// through /metrics (issue 12, defect 9).

const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("idem"),
});
after(() => engine.close());
guardServerLeaks();
const ADMIN = `admin-${randomBytes(24).toString("hex")}`;
const metrics = new KeelMetrics({ engine });
const app = buildApp({
  pool: engine.pool,
  schema: engine.schema,
  role: "api",
  api: { engine, adminToken: ADMIN },
  metrics,
});
after(() => app.close());

function post(key: string, payload: unknown) {
  return app.inject({
    method: "POST",
    url: "/v1/jobs",
    headers: { authorization: `Bearer ${ADMIN}`, "idempotency-key": key },
    payload: payload as object,
  });
}

async function outcomes(): Promise<Record<string, number>> {
  const text = (await app.inject({ url: "/metrics" })).body;
  const out: Record<string, number> = {};
  for (const [, outcome, value] of text.matchAll(
    /^keel_idempotency_requests_total\{outcome="(\w+)"\} (\S+)$/gm,
  )) {
    out[outcome as string] = Number(value);
  }
  return out;
}

test("every Idempotency-Key request is counted by outcome, each outcome listed from 0", async () => {
  assert.deepEqual(await outcomes(), { started: 0, replayed: 0, in_flight: 0, mismatch: 0, unavailable: 0 });
  const job = { target: { handler: "welcome" }, payload: { user: 1 } };
  assert.equal((await post("signup-1", job)).statusCode, 201);
  assert.equal((await post("signup-1", job)).statusCode, 201);
  assert.equal((await post("signup-1", job)).headers["idempotent-replayed"], "true");
  assert.equal((await post("signup-1", { ...job, payload: { user: 2 } })).statusCode, 422);
  // A first request still running (its key taken, no response yet).
  const body = { target: { handler: "welcome" }, payload: { user: 3 } };
  await engine.idempotency.begin({
    scope: "admin",
    key: "signup-3",
    fingerprint: await fingerprint({ method: "POST", path: "/v1/jobs", body }),
  });
  assert.equal((await post("signup-3", body)).statusCode, 409);
  // Requests without a key are not counted.
  await app.inject({
    method: "POST",
    url: "/v1/jobs",
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: job,
  });
  // The store failing: nothing runs.
  await engine.pool.query(`alter table "${engine.schema}".idempotency_keys rename to idempotency_keys_gone`);
  assert.equal((await post("signup-4", job)).statusCode, 500);
  assert.deepEqual(await outcomes(), { started: 1, replayed: 2, in_flight: 1, mismatch: 1, unavailable: 1 });
});
