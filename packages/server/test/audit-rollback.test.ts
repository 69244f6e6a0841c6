import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Engine } from "@keel/engine";
import Fastify from "fastify";
import pg from "pg";
import { onCleanup, waitFor } from "../../engine/test/helpers.js";
import { registerApi } from "../src/api/index.js";
import { ownedPostgres } from "./faults/owned-postgres.js";
import { guardServerLeaks } from "./helpers.js";

// A change and its audit row are one transaction: when Postgres goes away after the change is
// written but before its row is, the change is lost with the row and the caller is told. (The
// row used to be written after the change, kept in memory while Postgres was away, and dropped
// if the process stopped first: a change could stand with no row.)

guardServerLeaks();

test("Postgres stopping between a change and its audit row leaves neither, and the request fails", async () => {
  const owned = await ownedPostgres();
  const engine = await Engine.connect({
    migrate: true,
    connectionString: owned.url,
    connectTimeoutMs: 1_000,
  });
  onCleanup(() => engine.close());
  const admin = `admin-${randomBytes(24).toString("hex")}`;
  const app = Fastify();
  registerApi(app, { engine, adminToken: admin, production: false });
  await app.ready();
  onCleanup(() => app.close());
  await engine.schedules.upsert("nightly", { cron: "0 2 * * *", target: { handler: "report" } });
  const S = `"${engine.schema}"`;

  // Another session holds the audit log, so the pause's row waits after its switch is written.
  const blocker = new pg.Client({ connectionString: owned.url });
  await blocker.connect();
  blocker.on("error", () => {}); // terminated by the stop below
  await blocker.query(`begin; lock table ${S}.audit_log in access exclusive mode`);
  const answer = app.inject({
    method: "POST",
    url: "/v1/schedules/nightly/pause",
    headers: { authorization: `Bearer ${admin}` },
    payload: { reason: "drill" },
  });
  // Watched from the engine's pool: inside the blocker's transaction pg_stat_activity would
  // show the snapshot of its first read.
  await waitFor(
    async () => {
      const { rows } = await engine.pool.query(
        `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%audit_log%'`,
      );
      return rows[0].n === 1;
    },
    10_000,
    "the pause waiting to write its audit row",
  );
  const { rows: during } = await engine.pool.query(
    `select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation
     where c.relname = 'switches' and l.mode = 'RowExclusiveLock' and l.granted`,
  );
  assert.equal(during[0].n, 1, "the switch change is written, uncommitted");
  await owned.stop("fast");
  const res = await answer;
  await blocker.end().catch(() => {});
  assert.ok(res.statusCode >= 500, `the request failed (${res.statusCode} ${res.body})`);

  await owned.start();
  await waitFor(
    async () =>
      engine.pool.query("select 1").then(
        () => true,
        () => false,
      ),
    30_000,
    "Postgres back",
  );
  assert.equal((await engine.schedules.get("nightly")).paused, false, "the pause rolled back");
  const rows = await engine.auditLog.list({ limit: 10 });
  assert.deepEqual(
    rows.filter((r) => r.action === "schedule.pause"),
    [],
  );
  // Retried once Postgres is back, the pause is made with its row.
  const retried = await app.inject({
    method: "POST",
    url: "/v1/schedules/nightly/pause",
    headers: { authorization: `Bearer ${admin}` },
    payload: { reason: "drill" },
  });
  assert.equal(retried.statusCode, 200, retried.body);
  assert.deepEqual(
    (await engine.auditLog.list({ limit: 10 }))
      .filter((r) => r.action === "schedule.pause")
      .map((r) => r.details),
    [{ reason: "drill" }],
  );
});
