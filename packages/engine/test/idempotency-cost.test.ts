/**
 * Storing Idempotency-Key responses finds each key through the primary key, never by reading the
 * whole table, even when the statement was first run while the table was nearly empty (a cached
 * generic plan would keep the join chosen then: decision 063). Counted in rows read from
 * `idempotency_keys` by sequential scan (pg_stat_user_tables.seq_tup_read), not in time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine } from "../src/index.js";
import { guardLeaks, testEngine, tuplesRead } from "./helpers.js";

guardLeaks();
// One connection: the statements it prepares and the statistics it flushes are the ones measured.
const engine: Engine = await testEngine({ poolSize: 1 });
const S = `"${engine.schema}"`;
const response = { status: 201, headers: { "content-type": "application/json" }, body: '{"id":"1"}' };

const keysScanned = (fn: () => Promise<unknown>) => tuplesRead(engine, "idempotency_keys", "seq", fn);

test("storing a response reads its key by index, however small the table was when the statement first ran", async () => {
  // Requests finished while the table holds a handful of rows (more than the 5 runs after which
  // Postgres may keep a generic plan for a prepared statement).
  for (let i = 0; i < 12; i++) {
    const key = `early-${i}`;
    assert.equal((await engine.idempotency.begin({ scope: "s", key, fingerprint: "f" })).state, "started");
    await engine.idempotency.finish({ scope: "s", key, fingerprint: "f", response });
  }
  // Then the table grows, as it does under a day of traffic.
  await engine.pool.query(
    `insert into ${S}.idempotency_keys (scope, key, fingerprint, state, locked_until, expires_at)
     select 's', 'old-' || g, 'f', 'completed', null, now() + interval '1 day' from generate_series(1, 20000) g`,
  );
  const scanned = await keysScanned(async () => {
    for (let i = 0; i < 3; i++) {
      const key = `late-${i}`;
      assert.equal((await engine.idempotency.begin({ scope: "s", key, fingerprint: "f" })).state, "started");
      await engine.idempotency.finish({ scope: "s", key, fingerprint: "f", response });
      assert.equal(
        (await engine.idempotency.begin({ scope: "s", key, fingerprint: "f" })).state,
        "completed",
      );
    }
  });
  assert.ok(scanned < 1000, `three requests read ${scanned} rows of idempotency_keys by sequential scan`);
});

test("a group's responses are stored by index too when the group holds hundreds of keys", async () => {
  // Planned at every run, with the group's arrays counted, a group of hundreds was costed as
  // hundreds of index lookups against one scan of the table, and the scan won: 20,000 rows read
  // to store 300 responses (decision 081).
  const fresh = await testEngine({ poolSize: 2 });
  await fresh.pool.query(
    `insert into "${fresh.schema}".idempotency_keys (scope, key, fingerprint, state, locked_until, expires_at)
     select 's', 'old-' || g, 'f', 'completed', null, now() + interval '1 day' from generate_series(1, 20000) g`,
  );
  await fresh.pool.query(`analyze "${fresh.schema}".idempotency_keys`);
  const keys = Array.from({ length: 300 }, (_, i) => `group-${i}`);
  const begun = await Promise.all(
    keys.map((key) => fresh.idempotency.begin({ scope: "s", key, fingerprint: "f" })),
  );
  assert.ok(begun.every((b) => b.state === "started"));
  const scanned = await tuplesRead(fresh, "idempotency_keys", "seq", async () => {
    const client = await fresh.pool.connect();
    try {
      await client.query("begin");
      await fresh.idempotency.finishMany(
        client,
        keys.map((key) => ({ scope: "s", key, fingerprint: "f", response })),
      );
      await client.query("commit");
    } finally {
      client.release();
    }
  });
  assert.equal(scanned, 0);
  const again = await Promise.all(
    keys.map((key) => fresh.idempotency.begin({ scope: "s", key, fingerprint: "f" })),
  );
  assert.ok(
    again.every((b) => b.state === "completed"),
    "every response stored",
  );
});
