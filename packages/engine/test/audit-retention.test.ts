import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { type AuditRecord, type Engine, runRetention } from "../src/index.js";
import { guardLeaks, onCleanup, testDatabaseUrl, testEngine } from "./helpers.js";

// Audit retention: maintenance deletes entries past `audit.retentionDays` in batches, records
// each deletion in the log, and the table still refuses deletes and updates to everyone else.

guardLeaks();

const DAY = 86_400_000;

/** An engine on a fresh schema with `n` entries written `days` ago and one written now. */
async function seeded(old: number, days = 100): Promise<Engine> {
  const engine = await testEngine();
  for (let i = 0; i < old; i++) {
    await engine.auditLog.write(
      { actor: "test", action: "queue.pause", target: `queue:old-${i}` },
      new Date(Date.now() - days * DAY),
    );
  }
  await engine.auditLog.write({ actor: "test", action: "queue.pause", target: "queue:recent" });
  return engine;
}

const entries = async (engine: Engine): Promise<AuditRecord[]> => engine.auditLog.list({ limit: 1000 });

async function triggerEnabled(engine: Engine): Promise<string> {
  const { rows } = await engine.pool.query<{ tgenabled: string }>(
    `select t.tgenabled from pg_trigger t join pg_class c on c.oid = t.tgrelid
     join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relname = 'audit_log' and t.tgname = 'audit_log_no_rewrite'`,
    [engine.schema],
  );
  return rows[0]?.tgenabled ?? "missing";
}

test("by default nothing is deleted: entries are kept forever", async () => {
  const engine = await seeded(3, 4000);
  assert.equal(await engine.auditLog.retentionDays(), null);
  assert.deepEqual(await runRetention(engine), { deleted: 0 });
  assert.equal((await entries(engine)).length, 4);
});

test("entries past the retention are deleted in batches, each batch recorded by an audit.expire entry", async () => {
  const engine = await seeded(5);
  // An entry 89 days old stays.
  await engine.auditLog.write(
    { actor: "test", action: "queue.pause", target: "queue:kept" },
    new Date(Date.now() - 89 * DAY),
  );
  assert.deepEqual(await engine.auditLog.setRetention(90, { by: "config:keel.config.yaml" }), {
    changed: true,
  });
  assert.deepEqual(await engine.auditLog.expire(2), { deleted: 5 });

  const left = await entries(engine);
  const targets = left.map((e) => e.target);
  assert.equal(targets.filter((t) => t?.startsWith("queue:old-")).length, 0);
  assert.ok(targets.includes("queue:recent") && targets.includes("queue:kept"));
  const configure = left.filter((e) => e.action === "audit.configure");
  assert.deepEqual(
    configure.map((e) => [e.actor, e.details]),
    [["config:keel.config.yaml", { retentionDays: 90, previous: null }]],
  );
  const expired = left.filter((e) => e.action === "audit.expire");
  assert.deepEqual(
    expired.map((e) => [e.actor, e.target, (e.details as { deleted: number }).deleted]).reverse(),
    [
      ["engine:maintenance", "audit", 2],
      ["engine:maintenance", "audit", 2],
      ["engine:maintenance", "audit", 1],
    ],
  );
  // The newest run first: one entry deleted, written 100 days ago.
  const last = expired[0]?.details as { deleted: number; retentionDays: number; newest: string };
  assert.equal(last.deleted, 1);
  assert.equal(last.retentionDays, 90);
  const age = Date.now() - Date.parse(last.newest);
  assert.ok(age > 99 * DAY && age < 101 * DAY, `newest deleted entry ${last.newest}`);
  // A run with nothing to delete writes no entry.
  assert.deepEqual(await engine.auditLog.expire(2), { deleted: 0 });
  assert.equal((await entries(engine)).filter((e) => e.action === "audit.expire").length, 3);
});

test("the maintenance task applies it, and the table stays append-only for everyone else", async () => {
  const engine = await seeded(3);
  await engine.auditLog.setRetention(30);
  assert.deepEqual(await runRetention(engine), { deleted: 3 });
  assert.equal(await triggerEnabled(engine), "O", "the trigger is back on after expiry");

  const other = new pg.Client({ connectionString: testDatabaseUrl() });
  await other.connect();
  onCleanup(() => other.end());
  const table = `"${engine.schema}".audit_log`;
  await assert.rejects(other.query(`delete from ${table}`), /the audit log is append-only/);
  await assert.rejects(other.query(`update ${table} set actor = 'x'`), /the audit log is append-only/);
  // Not even entries past the retention, outside Keel's expiry.
  await engine.auditLog.write({ actor: "test", action: "queue.pause" }, new Date(Date.now() - 400 * DAY));
  await assert.rejects(
    other.query(`delete from ${table} where at < now() - interval '30 days'`),
    /the audit log is append-only/,
  );
});

test("expiry gives up quickly behind a writer's open transaction, and deletes nothing", async () => {
  const engine = await seeded(2);
  await engine.auditLog.setRetention(30);
  // An application transaction that wrote an audit entry and has not committed yet.
  const writer = await engine.pool.connect();
  onCleanup(() => writer.release());
  await writer.query("begin");
  await engine.auditLog.write({ actor: "test", action: "queue.pause" }, null, writer);

  await assert.rejects(engine.auditLog.expire(), (err: Error & { code?: string }) => {
    assert.equal(err.code, "55P03", `lock_timeout, got ${err.message}`);
    return true;
  });
  await writer.query("commit");
  assert.equal((await entries(engine)).filter((e) => e.target?.startsWith("queue:old-")).length, 2);
  assert.equal(await triggerEnabled(engine), "O");
  // Once the writer is done, the next run deletes them.
  assert.deepEqual(await engine.auditLog.expire(), { deleted: 2 });
});

test("setting the same retention again changes nothing; null keeps entries forever again", async () => {
  const engine = await testEngine();
  assert.deepEqual(await engine.auditLog.setRetention(90), { changed: true });
  assert.deepEqual(await engine.auditLog.setRetention(90), { changed: false });
  assert.deepEqual(await engine.auditLog.setRetention(null), { changed: true });
  assert.equal(await engine.auditLog.retentionDays(), null);
  const rows = (await entries(engine)).filter((e) => e.action === "audit.configure");
  assert.deepEqual(
    rows.map((e) => e.details),
    [
      { retentionDays: null, previous: 90 },
      { retentionDays: 90, previous: null },
    ],
  );
  await assert.rejects(engine.auditLog.setRetention(0), { code: "invalid_argument" });
  await assert.rejects(engine.auditLog.setRetention(1.5), { code: "invalid_argument" });
});
