/**
 * The Fetch-API app end to end against a real Keel: an order posted twice with one
 * Idempotency-Key is made once and answered twice the same; its follow-up delivery from Keel is
 * verified by the route handler (a forged one is refused); a fourth order in a minute is 429.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../../packages/engine/test/helpers.js";
import { listenFirst, startKeelFor } from "../keel-for-tests.js";

const DIR = fileURLToPath(new URL(".", import.meta.url));
const http = await listenFirst();
const keel = await startKeelFor(DIR, {});
// The app reads its environment when its modules load, as a Next.js app does.
Object.assign(process.env, {
  KEEL_URL: keel.url,
  KEEL_TOKEN: keel.adminToken,
  KEEL_SIGNING_SECRET: keel.signingSecret,
  DATABASE_URL: keel.databaseUrl,
  KEEL_SCHEMA: keel.schema,
  APP_URL: http.url,
});
const { handle } = await import("./server.js");
const { closeKeel, confirmed, keel: client } = await import("./lib/keel.js");
http.serve(handle);
after(closeKeel);

const order = (user: string, key: string, item = "tea") =>
  fetch(`${http.url}/api/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key, "x-user-id": user },
    body: JSON.stringify({ item }),
  });

test("Idempotency-Key: a retried order is made once and answered the same; Keel's delivery is verified", async () => {
  const key = randomUUID();
  const first = await order("ana", key);
  assert.equal(first.status, 201, await first.clone().text());
  const retry = await order("ana", key);
  assert.equal(retry.status, 201);
  assert.equal(retry.headers.get("idempotent-replayed"), "true");
  const body = (await first.json()) as { order: { id: string }; jobId: string };
  assert.deepEqual(await retry.json(), body);
  await waitFor(() => confirmed.find((c) => c.orderId === body.order.id), 30_000, "the verified delivery");
  assert.deepEqual(confirmed, [{ orderId: body.order.id, jobId: body.jobId, attempt: 1 }]);
  assert.equal((await client.jobs.get(body.jobId)).state, "succeeded");
});

test("delivery verification: a request Keel did not sign is refused with 401", async () => {
  const forged = await fetch(`${http.url}/api/keel/order-created`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": "msg_forged",
      "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
      "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl",
    },
    body: JSON.stringify({ id: "forged", item: "free" }),
  });
  assert.equal(forged.status, 401);
  assert.equal(
    confirmed.some((c) => c.orderId === "forged"),
    false,
  );
});

test("rate limit: the fourth order in a minute from one user is 429 with RateLimit headers; others are not held", async () => {
  for (let i = 0; i < 3; i++) assert.equal((await order("bo", randomUUID())).status, 201);
  const refused = await order("bo", randomUUID());
  assert.equal(refused.status, 429);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "too_many_requests");
  assert.ok(Number(refused.headers.get("retry-after")) > 0, "Retry-After");
  assert.equal(refused.headers.get("ratelimit-policy"), '"orders";q=3;w=60');
  assert.match(refused.headers.get("ratelimit") ?? "", /^"orders";r=0;t=\d+$/);
  assert.equal((await order("cy", randomUUID())).status, 201, "another user is not limited");
});
