import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Engine } from "@keel/engine";
import { Receiver } from "@upstash/qstash";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { startDeliveryWorker } from "../src/delivery/deliver.js";
import { buildApp } from "../src/http/app.js";
import { duration, readUpstashHeaders } from "../src/qstash/headers.js";
import { newSecret, startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks } from "./helpers.js";

const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("qstash_config"),
});
after(() => engine.close());
guardServerLeaks();

test("durations as QStash writes them", () => {
  assert.equal(duration("30", "Upstash-Delay"), 30_000);
  assert.equal(duration("1h30m", "Upstash-Delay"), 5_400_000);
  assert.equal(duration("2d", "Upstash-Delay"), 172_800_000);
  assert.equal(duration("250ms", "Upstash-Timeout"), 250);
  assert.throws(() => duration("soon", "Upstash-Delay"), /Upstash-Delay 'soon' is not a duration/);
});

test("headers: Upstash-Cron only on schedules, unknown Upstash-* refused by name, telemetry ignored", () => {
  const ok = readUpstashHeaders(
    { "upstash-retries": "0", "upstash-telemetry-sdk": "x", "upstash-forward-x-a": "1", accept: "*/*" },
    "publish",
  );
  assert.deepEqual(ok, {
    method: "POST",
    maxAttempts: 1,
    contentDeduplication: false,
    forward: { "x-a": "1" },
  });
  assert.throws(
    () => readUpstashHeaders({ "upstash-cron": "* * * * *" }, "publish"),
    (err: Error & { code?: string }) =>
      err.code === "qstash_unsupported" && /Upstash-Cron belongs/.test(err.message),
  );
  assert.throws(
    () => readUpstashHeaders({ "upstash-region": "eu" }, "publish"),
    (err: Error & { code?: string }) =>
      err.code === "qstash_unsupported" && /upstash-region/.test(err.message),
  );
  assert.throws(
    () => readUpstashHeaders({ "upstash-delay": "5m" }, "schedule"),
    (err: Error & { code?: string }) => err.code === "qstash_unsupported",
  );
});

test("without the signing keys, /v2 answers 503 qstash_not_configured (after authentication)", async () => {
  const adminToken = "admin-token-for-qstash-config-test-000000";
  const app = buildApp({
    pool: engine.pool,
    schema: engine.schema,
    role: "api",
    api: { engine, adminToken },
  });
  try {
    const url = "/v2/publish/https://app.example.com/job";
    const stranger = await app.inject({ method: "POST", url, payload: "x" });
    assert.equal(stranger.statusCode, 401);
    const res = await app.inject({
      method: "POST",
      url,
      payload: "x",
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().error.code, "qstash_not_configured");
    assert.match(res.json().error.message, /KEEL_QSTASH_CURRENT_SIGNING_KEY/);
    assert.equal((await engine.listJobs({ limit: 10 })).length, 0);
  } finally {
    await app.close();
  }
});

test('signing: "qstash" on a /v1-style target: signed when the worker has the key, retried (never unsigned) when not', async () => {
  const keys = { current: "sig_current_for_test", next: "sig_next_for_test" };
  const endpoint = await startEndpoint((_req, res) => res.end("ok"));
  const url = `${endpoint.origin}/signed`;
  try {
    // No key: the attempt fails before any request is sent.
    const bare = await startDeliveryWorker({
      engine,
      queues: ["signed"],
      signingSecrets: [newSecret()],
      production: false,
      worker: { pollIntervalMs: 50 },
    });
    const { id } = await engine.enqueue({
      queue: "signed",
      target: { url, signing: "qstash" },
      payload: { a: 1 },
      maxAttempts: 5,
      backoff: { type: "fixed", delayMs: 20 },
    });
    const failed = await waitFor(async () => {
      const job = await engine.getJob(id);
      return job.attempts.length > 0 ? job : undefined;
    });
    await bare.stop();
    assert.equal(failed.attempts[0]?.error?.code, "delivery_signing_unconfigured");
    assert.equal(endpoint.connections, 0);

    const keyed = await startDeliveryWorker({
      engine,
      queues: ["signed"],
      signingSecrets: [newSecret()],
      qstashKeys: keys,
      production: false,
      worker: { pollIntervalMs: 50 },
    });
    await waitFor(async () => (await engine.getJob(id)).state === "succeeded");
    await keyed.stop();
    const got = endpoint.received.at(-1);
    assert.ok(got);
    // Receivers mid-rotation know the signing key as current or as next: both verify.
    for (const config of [
      { currentSigningKey: keys.current, nextSigningKey: keys.next },
      { currentSigningKey: "sig_old", nextSigningKey: keys.current },
    ]) {
      const ok = await new Receiver(config).verify({
        signature: String(got.headers["upstash-signature"]),
        body: got.body,
        url,
      });
      assert.equal(ok, true);
    }
    assert.equal(got.headers["content-type"], "application/json");
    assert.equal(got.body, '{"a":1}');
  } finally {
    await endpoint.close();
  }
});
