/**
 * @keel/sdk/hono with the real `hono`: delivery verification, rate limits and Idempotency-Key
 * as Hono middleware over `c.req.raw`, with the route reading the body as usual.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { Webhook } from "standardwebhooks";
import { deliveryOf, idempotencyHono, rateLimitHono, verifyDeliveryHono } from "../src/adapters/hono.js";
import type { BeginInput, FinishInput, IdempotencyStore, StoredResponse } from "../src/idempotency/index.js";
import { createRateLimiter, MemoryRateLimitStore } from "../src/ratelimit/index.js";

const SECRET = "whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ=";

function signedHeaders(body: string): Record<string, string> {
  const at = new Date();
  return {
    "content-type": "application/json",
    "webhook-id": "msg_17",
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(SECRET).sign("msg_17", at, body),
    "keel-job-id": "17",
    "keel-attempt": "2",
    "keel-queue": "hooks",
  };
}

test("verifyDeliveryHono: a genuine delivery reaches the route with its details and its body unread; a forged one gets 401", async () => {
  const app = new Hono();
  app.post("/hook", verifyDeliveryHono({ secrets: SECRET }), async (c) => {
    const delivery = deliveryOf<{ userId: number }>(c.req.raw);
    return c.json({
      payload: delivery.payload,
      jobId: delivery.jobId,
      attempt: delivery.attempt,
      body: await c.req.json(),
    });
  });
  const body = '{"userId":42}';
  const ok = await app.request("/hook", { method: "POST", headers: signedHeaders(body), body });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), {
    payload: { userId: 42 },
    jobId: "17",
    attempt: 2,
    body: { userId: 42 },
  });

  const forged = await app.request("/hook", {
    method: "POST",
    headers: signedHeaders(body),
    body: '{"userId":43}',
  });
  assert.equal(forged.status, 401);
  assert.equal(
    ((await forged.json()) as { error: { code: string } }).error.code,
    "delivery_verification_failed",
  );
});

test("rateLimitHono: RateLimit headers on the route's response, 429 with Retry-After over the limit", async () => {
  const limiter = createRateLimiter({
    store: new MemoryRateLimitStore(),
    policies: [{ name: "api", limit: 2, windowSeconds: 60 }],
  });
  const app = new Hono();
  app.use(
    "/api/*",
    rateLimitHono({
      limiter,
      limits: (req) => ({ policy: "api", key: req.headers.get("x-user") ?? "anon" }),
    }),
  );
  app.get("/api/thing", (c) => c.text("thing"));
  const statuses: number[] = [];
  let last = new Response();
  for (let i = 0; i < 3; i++) {
    last = await app.request("/api/thing", { headers: { "x-user": "u1" } });
    statuses.push(last.status);
    if (i === 0) assert.equal(last.headers.get("ratelimit-policy"), '"api";q=2;w=60');
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.ok(Number(last.headers.get("retry-after")) >= 1);
  assert.equal(((await last.json()) as { error: { code: string } }).error.code, "too_many_requests");
  assert.equal((await app.request("/api/thing", { headers: { "x-user": "u2" } })).status, 200);
  await limiter.close();
});

/** An in-process store with the atomic begin the interface asks for (Postgres and Redis are tested elsewhere). */
function memoryStore(): IdempotencyStore & {
  records: Map<string, { fingerprint: string; response?: StoredResponse }>;
} {
  const records = new Map<string, { fingerprint: string; response?: StoredResponse }>();
  return {
    records,
    async begin(input: BeginInput) {
      const id = `${input.scope}\n${input.key}`;
      const record = records.get(id);
      if (!record) {
        records.set(id, { fingerprint: input.fingerprint });
        return { state: "started" };
      }
      if (record.fingerprint !== input.fingerprint) return { state: "mismatch" };
      return record.response ? { state: "completed", response: record.response } : { state: "in_flight" };
    },
    async finish(input: FinishInput) {
      const record = records.get(`${input.scope}\n${input.key}`);
      if (record) record.response = input.response;
    },
  };
}

test("idempotencyHono: the first request runs, a retry is replayed, another body under the key gets 422", async () => {
  const store = memoryStore();
  let runs = 0;
  const app = new Hono();
  app.post("/orders", idempotencyHono({ store }), async (c) => {
    runs++;
    const order = (await c.req.json()) as { item: string };
    return c.json({ id: runs, item: order.item }, 201);
  });
  const send = (body: string) =>
    app.request("/orders", {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "k1", authorization: "Bearer a" },
      body,
    });
  const first = await send('{"item":"tea"}');
  assert.equal(first.status, 201);
  assert.deepEqual(await first.json(), { id: 1, item: "tea" });
  // Key order is not meaning: the same JSON in another order is the same request.
  const again = await send('{ "item" : "tea" }');
  assert.equal(again.status, 201);
  assert.equal(again.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(await again.json(), { id: 1, item: "tea" });
  const other = await send('{"item":"coffee"}');
  assert.equal(other.status, 422);
  assert.equal(((await other.json()) as { error: { code: string } }).error.code, "idempotency_key_reused");
  assert.equal(runs, 1);
  assert.equal((await app.request("/orders", { method: "POST", body: "{}" })).status, 400);
});
