import assert from "node:assert/strict";
import { test } from "node:test";
import { type Engine, isKeelError } from "../src/index.js";
import { guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;
const response = { status: 201, headers: { "content-type": "application/json" }, body: '{"id":"1"}' };

test("fifty concurrent requests with one key: exactly one runs, the rest are told it is in flight", async () => {
  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      engine.idempotency.begin({ scope: "tok1", key: "k-race", fingerprint: "f1" }),
    ),
  );
  assert.equal(results.filter((r) => r.state === "started").length, 1);
  assert.equal(results.filter((r) => r.state === "in_flight").length, 49);
});

test("after the first finishes, retries replay its response; another request with the key is a mismatch", async () => {
  assert.deepEqual(await engine.idempotency.begin({ scope: "tok1", key: "k1", fingerprint: "f1" }), {
    state: "started",
  });
  await engine.idempotency.finish({ scope: "tok1", key: "k1", fingerprint: "f1", response });
  assert.deepEqual(await engine.idempotency.begin({ scope: "tok1", key: "k1", fingerprint: "f1" }), {
    state: "completed",
    response,
  });
  assert.deepEqual(await engine.idempotency.begin({ scope: "tok1", key: "k1", fingerprint: "other" }), {
    state: "mismatch",
  });
  // The same key under another scope is another request.
  assert.deepEqual(await engine.idempotency.begin({ scope: "tok2", key: "k1", fingerprint: "other" }), {
    state: "started",
  });
});

test("errors are stored and replayed like successes", async () => {
  await engine.idempotency.begin({ scope: "s", key: "err", fingerprint: "f" });
  const failed = { status: 500, headers: {}, body: '{"error":{"code":"x","message":"y"}}' };
  await engine.idempotency.finish({ scope: "s", key: "err", fingerprint: "f", response: failed });
  assert.deepEqual(await engine.idempotency.begin({ scope: "s", key: "err", fingerprint: "f" }), {
    state: "completed",
    response: failed,
  });
});

test("begins in one turn share one statement; a key twice, a key in use and a bad key are each answered alone", async () => {
  await engine.idempotency.begin({ scope: "g", key: "done", fingerprint: "f" });
  await engine.idempotency.finish({ scope: "g", key: "done", fingerprint: "f", response });
  const before = engine.idempotency.beginGroups;
  const [a, b, c, d, e] = await Promise.all([
    engine.idempotency.begin({ scope: "g", key: "twice", fingerprint: "f" }),
    engine.idempotency.begin({ scope: "g", key: "twice", fingerprint: "f" }),
    engine.idempotency.begin({ scope: "g", key: "twice", fingerprint: "other" }),
    engine.idempotency.begin({ scope: "g", key: "done", fingerprint: "f" }),
    engine.idempotency.begin({ scope: "other-scope", key: "twice", fingerprint: "f" }),
  ]);
  assert.deepEqual(a, { state: "started" });
  assert.deepEqual(b, { state: "in_flight" });
  assert.deepEqual(c, { state: "mismatch" });
  assert.deepEqual(d, { state: "completed", response });
  assert.deepEqual(e, { state: "started" }, "keys of two scopes never collide");
  const after = engine.idempotency.beginGroups;
  assert.equal(after.items - before.items, 5);
  assert.equal(after.flushes - before.flushes, 1, "one statement for the five");

  // Postgres refuses a NUL in text (SQLSTATE 22021): the pair's statement fails, and each half is
  // written again alone (3 statements; one by one they would be 2), so only the bad key fails.
  const [good, bad] = await Promise.allSettled([
    engine.idempotency.begin({ scope: "g", key: "beside-bad", fingerprint: "f" }),
    engine.idempotency.begin({ scope: "g", key: "nul\u0000key", fingerprint: "f" }),
  ]);
  assert.deepEqual(good.status === "fulfilled" && good.value, { state: "started" });
  assert.equal(bad.status, "rejected");
  assert.equal((bad as PromiseRejectedResult).reason.code, "22021");
  assert.equal(engine.idempotency.beginGroups.flushes - after.flushes, 3, "split, not begun one by one");
});

test("a released key runs again at once; a completed key, or one whose lock lapsed, is not released", async () => {
  const key = { scope: "r", fingerprint: "f" };
  await engine.idempotency.begin({ ...key, key: "failed" });
  await engine.idempotency.release({ ...key, key: "failed" });
  assert.deepEqual(await engine.idempotency.begin({ ...key, key: "failed" }), { state: "started" });

  await engine.idempotency.begin({ ...key, key: "done" });
  await engine.idempotency.finish({ ...key, key: "done", response });
  await engine.idempotency.release({ ...key, key: "done" });
  assert.deepEqual(await engine.idempotency.begin({ ...key, key: "done" }), { state: "completed", response });

  // Once the lock lapsed a retry may hold the key: a late release from the first request leaves it.
  await engine.idempotency.begin({ ...key, key: "lapsed" });
  await engine.pool.query(
    `update ${S}.idempotency_keys set locked_until = now() - interval '1 second' where key = 'lapsed'`,
  );
  await engine.idempotency.release({ ...key, key: "lapsed" });
  const { rows } = await engine.pool.query(`select state from ${S}.idempotency_keys where key = 'lapsed'`);
  assert.deepEqual(rows, [{ state: "started" }]);
  // Another request's fingerprint never releases it either.
  await engine.idempotency.begin({ ...key, key: "theirs" });
  await engine.idempotency.release({ ...key, key: "theirs", fingerprint: "other" });
  assert.deepEqual(await engine.idempotency.begin({ ...key, key: "theirs" }), { state: "in_flight" });
});

test("a request abandoned in flight can be taken over by a retry after its lock passes", async () => {
  await engine.idempotency.begin({ scope: "s", key: "crash", fingerprint: "f" });
  assert.equal(
    (await engine.idempotency.begin({ scope: "s", key: "crash", fingerprint: "f" })).state,
    "in_flight",
  );
  await engine.pool.query(
    `update ${S}.idempotency_keys set locked_until = now() - interval '1 second' where key = 'crash'`,
  );
  assert.equal(
    (await engine.idempotency.begin({ scope: "s", key: "crash", fingerprint: "other" })).state,
    "mismatch",
  );
  assert.equal(
    (await engine.idempotency.begin({ scope: "s", key: "crash", fingerprint: "f" })).state,
    "started",
  );
});

test("expired records start afresh and are deleted by maintenance", async () => {
  await engine.idempotency.begin({ scope: "s", key: "old", fingerprint: "f" });
  await engine.idempotency.finish({ scope: "s", key: "old", fingerprint: "f", response });
  await engine.pool.query(
    `update ${S}.idempotency_keys set expires_at = now() - interval '1 second' where key = 'old'`,
  );
  assert.equal(
    (await engine.idempotency.begin({ scope: "s", key: "old", fingerprint: "new" })).state,
    "started",
  );
  await engine.pool.query(
    `update ${S}.idempotency_keys set expires_at = now() - interval '1 second' where key = 'old'`,
  );
  assert.equal(await engine.idempotency.expire(), 1);
});

test("keys must be 1–255 characters", async () => {
  for (const key of ["", "x".repeat(256)]) {
    await assert.rejects(engine.idempotency.begin({ scope: "s", key, fingerprint: "f" }), (e: unknown) =>
      isKeelError(e, "invalid_argument"),
    );
  }
});

test("a generated setting is created once, whatever the number of replicas asking", async () => {
  let n = 0;
  const results = await Promise.all(
    Array.from({ length: 10 }, () => engine.settings.getOrCreate("signing_secret", () => `v${n++}`)),
  );
  assert.equal(new Set(results.map((r) => r.value)).size, 1);
  assert.equal(results.filter((r) => r.created).length, 1);
});
