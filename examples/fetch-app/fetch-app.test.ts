/**
 * The Fetch-API app end to end against a real Keel: an order posted twice with one
 * Idempotency-Key is made once and answered twice the same; its follow-up delivery from Keel is
 * verified by the route handler (a forged one is refused); a fourth order in a minute is 429; the
 * vercel.json cron, moved with `keel import`, calls its route the way Vercel did.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { waitFor } from "../../packages/engine/test/helpers.js";
import { tempDir } from "../../packages/server/test/helpers.js";
import { listenFirst, startKeelFor } from "../keel-for-tests.js";

const DIR = fileURLToPath(new URL(".", import.meta.url));
const KEEL_BIN = fileURLToPath(new URL("../../packages/server/bin/keel.js", import.meta.url));
const http = await listenFirst();
// The app's vercel.json crons, moved to Keel the documented way (docs/deploy/vercel.md).
const config = join(tempDir("fetch-app"), "keel.config.yaml");
await promisify(execFile)(
  process.execPath,
  [KEEL_BIN, "import", "vercel.json", "--base-url", http.url, "--write", config],
  {
    cwd: DIR,
  },
);
const CRON_SECRET = randomUUID();
const keel = await startKeelFor(DIR, { KEEL_CONFIG: config, CRON_SECRET });
// The app reads its environment when its modules load, as a Next.js app does.
Object.assign(process.env, {
  KEEL_URL: keel.url,
  KEEL_TOKEN: keel.adminToken,
  KEEL_SIGNING_SECRET: keel.signingSecret,
  DATABASE_URL: keel.databaseUrl,
  KEEL_SCHEMA: keel.schema,
  APP_URL: http.url,
  CRON_SECRET,
});
const { handle } = await import("./server.js");
const { cleanups, closeKeel, confirmed, keel: client } = await import("./lib/keel.js");
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
  // The app answers before Keel records the attempt: wait for the record, not for the request.
  await waitFor(
    async () => (await client.jobs.get(body.jobId)).state === "succeeded",
    30_000,
    "the job recorded as succeeded",
  );
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

test("the vercel.json cron, imported with keel import --write, calls GET /api/cron/cleanup with the Bearer CRON_SECRET", async () => {
  assert.equal(
    (await fetch(`${http.url}/api/cron/cleanup`)).status,
    401,
    "the route refuses a call without it",
  );
  const { jobs } = await client.schedules.trigger("cleanup");
  const jobId = jobs[0]?.jobId as string;
  const job = await waitFor(async () => {
    const j = await client.jobs.get(jobId);
    return j.state === "succeeded" || j.state === "dead" ? j : undefined;
  }, 30_000);
  assert.equal(job.state, "succeeded", JSON.stringify(job.attempts));
  assert.equal(cleanups.length, 1);
  assert.equal((await client.schedules.get("cleanup")).timezone, "UTC");
});
