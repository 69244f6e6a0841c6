import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { csrfToken, type Engine } from "../src/index.js";
import { guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;
const session = (over: { idleMs?: number; absoluteMs?: number } = {}) =>
  engine.consoleSessions.create({
    role: "operate",
    actor: "console:token:7",
    source: "127.0.0.1",
    idleMs: over.idleMs ?? 60_000,
    absoluteMs: over.absoluteMs ?? 3_600_000,
  });

test("a session is stored as a hash only, verifies, and ends on revoke", async () => {
  const { secret, id } = await session();
  const stored = await engine.pool.query(`select hash from ${S}.console_sessions where id = $1`, [id]);
  assert.deepEqual(stored.rows[0].hash, createHash("sha256").update(secret).digest());
  const dump = JSON.stringify((await engine.pool.query(`select * from ${S}.console_sessions`)).rows);
  assert.ok(!dump.includes(secret), "the secret is not in the table");
  assert.deepEqual(
    { role: (await engine.consoleSessions.verify(secret))?.role, id },
    { role: "operate", id },
  );
  assert.equal(await engine.consoleSessions.revoke(secret), true);
  assert.equal(await engine.consoleSessions.verify(secret), null);
  assert.equal(await engine.consoleSessions.revoke(secret), false, "revoking twice changes nothing");
});

test("a session ends after its idle window, and at its absolute expiry however busy", async () => {
  const idle = await session();
  // Back-date instead of sleeping: last seen two minutes ago with a one-minute idle window.
  await engine.pool.query(
    `update ${S}.console_sessions set last_seen_at = now() - interval '2 minutes' where id = $1`,
    [idle.id],
  );
  assert.equal(await engine.consoleSessions.verify(idle.secret), null);
  const old = await session();
  await engine.pool.query(
    `update ${S}.console_sessions set expires_at = now() - interval '1 second' where id = $1`,
    [old.id],
  );
  assert.equal(await engine.consoleSessions.verify(old.secret), null);
});

test("a request restarts the idle window (recorded at most every 10 seconds)", async () => {
  const { secret, id } = await session();
  const seen = async () =>
    (await engine.pool.query(`select last_seen_at from ${S}.console_sessions where id = $1`, [id])).rows[0]
      .last_seen_at as Date;
  await engine.pool.query(
    `update ${S}.console_sessions set last_seen_at = now() - interval '50 seconds' where id = $1`,
    [id],
  );
  const before = await seen();
  assert.ok(await engine.consoleSessions.verify(secret));
  const after = await seen();
  assert.ok(after.getTime() > before.getTime() + 40_000, "touched");
  assert.ok(await engine.consoleSessions.verify(secret));
  assert.equal((await seen()).getTime(), after.getTime(), "not written again within 10 seconds");
});

test("malformed secrets and wrong ones are refused; the CSRF token depends on the secret", async () => {
  const { secret } = await session();
  assert.equal(await engine.consoleSessions.verify("nope"), null);
  const other = `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
  assert.equal(await engine.consoleSessions.verify(other), null);
  assert.notEqual(csrfToken(secret), csrfToken(`${secret}x`));
  await assert.rejects(session({ idleMs: 10_000, absoluteMs: 1_000 }), /idle timeout/);
});
