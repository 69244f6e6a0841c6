import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isKeelError } from "@keel/engine";
import { testDatabaseUrl, testEngine } from "../../engine/test/helpers.js";
import { runDrill } from "../src/backups/drill.js";
import { backupNow } from "../src/backups/dump.js";
import { listBackups } from "../src/backups/records.js";
import { countTables, restoreBackup } from "../src/backups/restore.js";
import { findTool } from "../src/backups/tools.js";
import { backupsSchema } from "../src/config/backups.js";
import { backupChecks } from "../src/doctor/backup-checks.js";
import {
  admin,
  appDatabase,
  contentChecksum,
  freshDatabase,
  server,
  urlOf,
} from "./fixtures/backup-databases.js";
import { runKeel, tempDir } from "./helpers.js";

// Real pg_dump and pg_restore against fresh databases on the test Postgres, dropped afterwards.
// The application URL carries a password (trust auth ignores it) that must appear nowhere.

const PASSWORD = `pw${randomBytes(6).toString("hex")}`;

test("backup, restore into a fresh database, drill, corruption, refusal: end to end", async () => {
  const engine = await testEngine();
  const dir = tempDir("backups");
  const app = await appDatabase();
  const env = { APP_DATABASE_URL: urlOf(app, PASSWORD) };
  const config = backupsSchema.parse({ what: { app: "${APP_DATABASE_URL}", keel: true }, dir });
  const keel = { connectionString: testDatabaseUrl(), schema: engine.schema };

  const backup = await backupNow(engine, config, { name: "app", url: env.APP_DATABASE_URL });
  assert.equal(backup.status, "succeeded");
  assert.deepEqual(backup.tables, { "billing.invoices": 125, "public.users": 40 });
  assert.ok(backup.path && existsSync(backup.path));
  assert.match(backup.sha256 ?? "", /^[0-9a-f]{64}$/);
  assert.ok((backup.sizeBytes ?? 0) > 0);
  assert.equal(backup.source, `${server.hostname}:${server.port || "5432"}/${app}`);

  // Keel's own schema: only its tables.
  const own = await backupNow(engine, config, {
    name: "keel",
    url: keel.connectionString,
    schema: engine.schema,
  });
  assert.ok(Object.keys(own.tables ?? {}).every((t) => t.startsWith(`${engine.schema}.`)));
  assert.ok(Object.keys(own.tables ?? {}).includes(`${engine.schema}.jobs`));

  // Restore into a fresh database: the same tables, counts and contents.
  const copy = await freshDatabase("bk_copy");
  await restoreBackup(engine, backup, urlOf(copy));
  assert.deepEqual(await countTables(engine, urlOf(copy)), backup.tables);
  assert.equal(await contentChecksum(copy), await contentChecksum(app));

  // Over a database that holds tables: refused, unless forced.
  await assert.rejects(restoreBackup(engine, backup, urlOf(copy)), (err) => {
    assert.ok(isKeelError(err, "restore_target_not_empty"), String(err));
    assert.match(err.message, /2 tables.*--force/);
    return true;
  });
  await admin((c) => c.query("delete from users where id > 10"), copy);
  await restoreBackup(engine, backup, urlOf(copy), { force: true });
  assert.equal(await contentChecksum(copy), await contentChecksum(app));

  // A drill of the latest app backup: passes, with RTO and RPO recorded.
  const drill = await runDrill(engine, config, env, keel, "app");
  assert.equal(drill.backupId, backup.id);
  assert.equal(drill.tables, 2);
  assert.equal(drill.rows, 165);
  assert.ok(drill.restoreMs > 0 && drill.dataAgeSeconds > 0);
  const [row] = (
    await engine.pool.query(
      `select status, restore_ms::int, data_age_seconds from "${engine.schema}".backup_drills where id = $1`,
      [drill.id],
    )
  ).rows;
  assert.equal(row.status, "succeeded");
  assert.equal(row.restore_ms, drill.restoreMs);
  // Its scratch database is gone.
  assert.match(drill.scratch, /^keel_drill_/);
  const scratch = await admin((c) =>
    c.query("select datname from pg_database where datname = $1", [drill.scratch]),
  );
  assert.deepEqual(scratch.rows, []);

  // A corrupted dump: restore refuses it, the drill fails loudly and is recorded as failed.
  appendFileSync(backup.path as string, "x");
  await assert.rejects(restoreBackup(engine, backup, urlOf(await freshDatabase("bk_bad"))), (err) => {
    assert.ok(isKeelError(err, "backup_corrupt"), String(err));
    assert.match(err.message, /SHA-256/);
    return true;
  });
  await assert.rejects(runDrill(engine, config, env, keel, "app"), (err) => {
    assert.ok(isKeelError(err, "drill_failed"), String(err));
    assert.match(err.message, /corrupt/);
    return true;
  });
  const failed = await engine.pool.query(
    `select status, error from "${engine.schema}".backup_drills order by id desc limit 1`,
  );
  assert.equal(failed.rows[0].status, "failed");

  // The password is in no row.
  const rows = JSON.stringify([
    await listBackups(engine),
    (await engine.pool.query(`select * from "${engine.schema}".backup_drills`)).rows,
  ]);
  assert.equal(rows.includes(PASSWORD), false);
});

test("a drill whose restored counts differ from the dump's fails with the differences", async () => {
  const engine = await testEngine();
  const dir = tempDir("backups-mismatch");
  const app = await appDatabase();
  const env = { APP_DATABASE_URL: urlOf(app) };
  const config = backupsSchema.parse({ what: { app: "${APP_DATABASE_URL}" }, dir });
  const backup = await backupNow(engine, config, { name: "app", url: env.APP_DATABASE_URL });
  // The record says 41 users: what a dump that lost a row would look like.
  await engine.pool.query(`update "${engine.schema}".backups set tables = $2 where id = $1`, [
    backup.id,
    { ...backup.tables, "public.users": 41 },
  ]);
  const keel = { connectionString: testDatabaseUrl(), schema: engine.schema };
  await assert.rejects(runDrill(engine, config, env, keel), (err) => {
    assert.ok(isKeelError(err, "drill_failed"), String(err));
    assert.match(err.message, /public\.users has 40 rows, the dump had 41/);
    return true;
  });
});

test("a drill runs the user's check in the restored database: false or an error fails it", async () => {
  const engine = await testEngine();
  const app = await appDatabase();
  const env = { APP_DATABASE_URL: urlOf(app) };
  const keel = { connectionString: testDatabaseUrl(), schema: engine.schema };
  const withCheck = (check: string) =>
    backupsSchema.parse({
      what: { app: "${APP_DATABASE_URL}" },
      dir: tempDir("backups-check"),
      drills: { check },
    });
  await backupNow(engine, withCheck("select true"), { name: "app", url: env.APP_DATABASE_URL });
  const passed = await runDrill(engine, withCheck("select count(*) = 40 from users"), env, keel);
  assert.equal(passed.rows, 165);
  await assert.rejects(runDrill(engine, withCheck("select count(*) > 40 from users"), env, keel), (err) => {
    assert.ok(isKeelError(err, "drill_failed"), String(err));
    assert.match(err.message, /backups\.drills\.check returned false/);
    return true;
  });
  await assert.rejects(runDrill(engine, withCheck("select nope from users"), env, keel), (err) => {
    assert.ok(isKeelError(err, "drill_failed"), String(err));
    assert.match(err.message, /backups\.drills\.check failed in the restored database: .*nope/);
    return true;
  });
});

test("a failed dump is recorded with pg_dump's error and without the password", async () => {
  const engine = await testEngine();
  const config = backupsSchema.parse({ what: { app: "${APP_DATABASE_URL}" }, dir: tempDir("backups-fail") });
  const url = urlOf(`bk_missing_${process.pid}`, PASSWORD);
  await assert.rejects(backupNow(engine, config, { name: "app", url }), (err) => {
    assert.ok(isKeelError(err, "backup_failed"), String(err));
    assert.match(err.message, /does not exist/);
    assert.equal(err.message.includes(PASSWORD), false);
    return true;
  });
  const [row] = await listBackups(engine);
  assert.equal(row?.status, "failed");
  assert.equal(JSON.stringify(row).includes(PASSWORD), false);
});

test("without pg_dump the error says how to install it", () => {
  assert.throws(
    () => findTool("pg_dump", { path: "/nonexistent", embedded: false }),
    (err) => isKeelError(err, "backup_tool_missing") && /apt-get install postgresql-client/.test(err.message),
  );
  assert.match(findTool("pg_restore"), /pg_restore$/);
});

test("keel backup now | list | restore | drill from the command line", async () => {
  const engine = await testEngine();
  const app = await appDatabase();
  const dir = tempDir("backups-cli");
  const file = join(dir, "keel.config.json");
  writeFileSync(
    file,
    JSON.stringify({
      backups: { what: { app: "${APP_DATABASE_URL}", keel: true }, dir: join(dir, "dumps") },
    }),
  );
  const env = {
    DATABASE_URL: testDatabaseUrl(),
    KEEL_SCHEMA: engine.schema,
    KEEL_CONFIG: file,
    APP_DATABASE_URL: urlOf(app, PASSWORD),
  };
  const now = await runKeel(["backup", "now", "--json"], env);
  assert.equal(now.code, 0, now.stderr);
  const taken = (JSON.parse(now.stdout) as { backups: { id: string; target: string }[] }).backups;
  assert.deepEqual(
    taken.map((b) => b.target),
    ["app", "keel"],
  );
  const list = await runKeel(["backup", "list"], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /app\s+succeeded/);

  const appBackup = taken[0]?.id as string;
  const refused = await runKeel(
    ["backup", "restore", appBackup, "--to", urlOf(app, PASSWORD), "--json"],
    env,
  );
  assert.equal(refused.code, 4, refused.stderr);
  assert.equal(JSON.parse(refused.stderr).error.code, "restore_target_not_empty");

  const drill = await runKeel(["backup", "drill", "--target", "app"], env);
  assert.equal(drill.code, 0, drill.stderr);
  assert.match(drill.stdout, /restore time \(RTO\):/);
  assert.match(drill.stdout, /checked:\s+2 tables, 165 rows/);

  // Keel's own schema restores and matches too (its functions, triggers and the record itself).
  const own = await runKeel(["backup", "drill", "--target", "keel", "--json"], env);
  assert.equal(own.code, 0, own.stderr);
  assert.equal((JSON.parse(own.stdout) as { target: string }).target, "keel");

  for (const run of [now, list, refused, drill, own]) {
    assert.equal(`${run.stdout}${run.stderr}`.includes(PASSWORD), false);
  }
});

test("doctor: backup and drill ages against the policy", async () => {
  const engine = await testEngine();
  const S = `"${engine.schema}"`;
  const config = backupsSchema.parse({
    what: { keel: true },
    dir: "/unused",
    maxAgeHours: 24,
    drills: { maxAgeDays: 7 },
  });
  const status = async () =>
    Object.fromEntries((await backupChecks(engine, config)).map((c) => [c.id, `${c.status}: ${c.seen}`]));
  assert.match(
    (await status())["operations.backup_settings"] ?? "",
    /^pass: pg_dump and pg_restore found.*\/unused$/,
  );
  // A variable unset and a malformed key: named, their values never shown.
  const bad = backupsSchema.parse({
    what: { app: "${DOCTOR_APP_URL}" },
    dir: "/unused",
    encryption: { key: "${DOCTOR_KEY}" },
  });
  const [settings] = await backupChecks(engine, bad, { DOCTOR_KEY: "c2hvcnQ=" });
  assert.equal(settings?.status, "fail");
  assert.match(
    settings?.seen ?? "",
    /DOCTOR_APP_URL is not set.*backups\.encryption\.key is not a 32-byte key/,
  );
  assert.equal(settings?.seen.includes("c2hvcnQ="), false);
  const { "operations.backup_settings": _, ...ages } = await status();
  assert.deepEqual(ages, {
    "operations.backups": "fail: no backup has succeeded",
    "operations.restore_drills": "warn: no restore drill has passed: the backups are untested",
  });
  const backup = async (hoursAgo: number) => {
    const [b] = (
      await engine.pool.query(
        `insert into ${S}.backups (target, source, status, started_at, finished_at) values ('keel', 'x', 'succeeded', now() - make_interval(hours => $1), now() - make_interval(hours => $1)) returning id`,
        [hoursAgo],
      )
    ).rows;
    return b.id as string;
  };
  const drill = async (id: string, daysAgo: number, state: string) =>
    engine.pool.query(
      `insert into ${S}.backup_drills (backup_id, status, finished_at, error) values ($1, $2, now() - make_interval(days => $3), $4)`,
      [id, state, daysAgo, state === "failed" ? "public.users is missing" : null],
    );
  const old = await backup(30);
  assert.match(
    (await status())["operations.backups"] ?? "",
    /^warn: the latest successful backup is 1d06h old/,
  );
  await drill(old, 15, "succeeded");
  assert.match(
    (await status())["operations.restore_drills"] ?? "",
    /^fail: the latest passing restore drill is 15d/,
  );
  const fresh = await backup(1);
  await drill(fresh, 0, "succeeded");
  assert.deepEqual(
    Object.values(await status()).map((s) => s.slice(0, 4)),
    ["pass", "pass", "pass"],
  );
  await drill(fresh, 0, "failed");
  assert.match(
    (await status())["operations.restore_drills"] ?? "",
    /^fail: the latest restore drill failed .*public\.users is missing/,
  );
  assert.equal((await backupChecks(engine, undefined))[0]?.status, "pass");
});
