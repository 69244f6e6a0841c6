import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "@keel/engine";
import { onCleanup, waitFor } from "../../engine/test/helpers.js";
import { ownedPostgres } from "./faults/owned-postgres.js";
import { guardServerLeaks } from "./helpers.js";

// An audit entry whose change is made while Postgres goes away is kept and written once it is
// back, with the time of the change (it used to be logged and dropped); failures are counted.

guardServerLeaks();

test("an audit entry written while Postgres is stopped is kept, retried and written with its time", async () => {
  const pg = await ownedPostgres();
  const engine = await Engine.connect({ migrate: true, connectionString: pg.url, connectTimeoutMs: 1_000 });
  onCleanup(() => engine.close());
  await pg.stop("fast");
  const before = new Date();
  const written = await engine.auditLog.record({
    actor: "token:ops",
    action: "queue.pause",
    target: "queue:email",
    source: "10.0.0.7",
  });
  assert.equal(written, false, "not written at once");
  assert.equal(engine.auditLog.stats.pending, 1);
  assert.ok(engine.auditLog.stats.writeFailures >= 1);
  await pg.start();
  await waitFor(() => engine.auditLog.stats.pending === 0, 30_000, "the kept entry written");
  const [entry] = await engine.auditLog.list({ limit: 1 });
  assert.equal(entry?.action, "queue.pause");
  assert.equal(entry?.target, "queue:email");
  assert.ok(
    entry && Math.abs(entry.at.getTime() - before.getTime()) < 1_000,
    `recorded at the change's time (${entry?.at.toISOString()}), not the retry's`,
  );
  assert.equal(engine.auditLog.stats.dropped, 0);
});

test("entries still kept when the engine closes are tried once more, then counted as dropped", async () => {
  const pg = await ownedPostgres();
  const engine = await Engine.connect({ migrate: true, connectionString: pg.url, connectTimeoutMs: 1_000 });
  await pg.stop("immediate");
  assert.equal(await engine.auditLog.record({ actor: "system", action: "switch.set" }), false);
  await engine.close();
  assert.equal(engine.auditLog.stats.dropped, 1);
  assert.equal(engine.auditLog.stats.pending, 0);
});
