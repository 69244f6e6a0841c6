import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createScheduler, createWorker, type Engine, type FireEvent } from "@keel/engine";
import { freshSchema, testDatabaseUrl, testEngine, waitFor } from "../../engine/test/helpers.js";
import { backupHandlers, backupSchedules } from "../src/backups/jobs.js";
import { listBackups } from "../src/backups/records.js";
import { backupsSchema } from "../src/config/backups.js";
import { parseConfigFile } from "../src/config/file.js";
import { startKeel } from "../src/runtime/start.js";
import { appDatabase, urlOf } from "./fixtures/backup-databases.js";
import { memoryLogger, tempDir } from "./helpers.js";

// backups.schedule and backups.drills.schedule as Keel jobs (decision 048): synced as
// config-managed schedules, fired by Keel's scheduler (driven here by a scheduler on a clock the
// test sets, never by waiting for cron), run by the built-in handlers of keel.backups in the
// worker role, with job history, switches and metrics.

/** The value of the sample `name{target="…"}` in a Prometheus exposition, if present. */
function gauge(text: string, name: string, target: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{target="${target}"} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

async function jobState(engine: Engine, id: string, want: string) {
  return waitFor(
    async () => {
      const job = await engine.getJob(id);
      return job.state === want ? job : undefined;
    },
    60_000,
    `job ${id} to be ${want}`,
  );
}

test("scheduled backups and drills run as Keel jobs: history, switches, metrics", async () => {
  const app = await appDatabase();
  const dir = tempDir("backups-jobs");
  const file = join(dir, "keel.config.yaml");
  writeFileSync(
    file,
    `backups:
  what: { app: "\${APP_DATABASE_URL}" }
  dir: ${join(dir, "dumps")}
  schedule: { cron: "0 2 * * *", timezone: Europe/Paris }
  drills:
    schedule: { cron: "0 4 * * 0" }
`,
  );
  const keel = await startKeel({
    env: {
      DATABASE_URL: testDatabaseUrl(),
      KEEL_SCHEMA: freshSchema("bkjobs"),
      KEEL_CONFIG: file,
      KEEL_ROLE: "worker",
      PORT: "0",
      APP_DATABASE_URL: urlOf(app),
    },
    host: "127.0.0.1",
    logger: memoryLogger().logger,
  });
  const { engine } = keel;
  const scrape = async () => (await fetch(`http://127.0.0.1:${keel.port}/metrics`)).text();
  try {
    const schedules = Object.fromEntries((await engine.schedules.list()).map((s) => [s.name, s]));
    assert.equal(schedules["keel.backup"]?.managedBy, "config");
    assert.equal(schedules["keel.backup"]?.timezone, "Europe/Paris");
    assert.deepEqual(schedules["keel.backup"]?.target, { handler: "keel.backup" });
    assert.equal(schedules["keel.backup-drill"]?.queue, "keel.backups");
    assert.equal(gauge(await scrape(), "keel_backup_last_success_timestamp_seconds", "app"), undefined);

    // Two schedulers (two replicas) on a clock just past the slot: one job for it, not two.
    const slot = schedules["keel.backup"]?.nextFireAt as Date;
    const events: FireEvent[] = [];
    const replicas = [1, 2].map(() =>
      createScheduler({
        engine,
        autoStart: false,
        now: () => new Date(slot.getTime() + 1_000),
        hooks: { onFire: (e) => events.push(e) },
      }),
    );
    await Promise.all(replicas.map((s) => s.tick()));
    const fired = events.filter((e) => e.schedule === "keel.backup");
    assert.deepEqual(
      fired.map((e) => e.outcome),
      ["enqueued"],
    );
    const [run] = await engine.schedules.runs("keel.backup");
    assert.equal(run?.outcome, "enqueued");
    // That job runs at the slot's time (hours away); a trigger runs the schedule now.
    const slotJob = await engine.getJob(run?.jobId as string);
    assert.equal(slotJob.state, "scheduled");
    assert.equal(slotJob.queue, "keel.backups");
    const now = await engine.schedules.trigger("keel.backup");
    const job = await jobState(engine, now.jobs[0]?.jobId as string, "succeeded");
    assert.equal(job.attempts.length, 1);
    assert.equal(job.attempts[0]?.outcome, "succeeded");
    const [backup] = await listBackups(engine);
    assert.equal(backup?.status, "succeeded");
    assert.equal(backup?.target, "app");

    // Its metrics, read from the record at scrape (the 1 s read cache may serve one stale scrape).
    assert.ok(backup?.finishedAt);
    const finished = Math.floor(backup.finishedAt.getTime() / 1000);
    const afterBackup = await waitFor(async () => {
      const text = await scrape();
      return gauge(text, "keel_backup_last_success_timestamp_seconds", "app") === undefined
        ? undefined
        : text;
    });
    assert.equal(
      Math.floor(gauge(afterBackup, "keel_backup_last_success_timestamp_seconds", "app") as number),
      finished,
    );
    assert.equal(gauge(afterBackup, "keel_backup_last_size_bytes", "app"), backup.sizeBytes);
    assert.equal(gauge(afterBackup, "keel_backup_drill_last_failed", "app"), undefined);

    // The drill schedule, triggered by hand: a job too, then its gauges.
    const drill = await engine.schedules.trigger("keel.backup-drill");
    const drillJob = await jobState(engine, drill.jobs[0]?.jobId as string, "succeeded");
    assert.equal(drillJob.attempts.length, 1);
    const afterDrill = await waitFor(async () => {
      const text = await scrape();
      return gauge(text, "keel_backup_drill_last_failed", "app") === undefined ? undefined : text;
    });
    assert.equal(gauge(afterDrill, "keel_backup_drill_last_failed", "app"), 0);
    assert.ok((gauge(afterDrill, "keel_backup_drill_rto_seconds", "app") ?? 0) > 0);
    assert.ok((gauge(afterDrill, "keel_backup_drill_rpo_seconds", "app") ?? 0) > 0);
    assert.ok(
      (gauge(afterDrill, "keel_backup_drill_last_success_timestamp_seconds", "app") ?? 0) >= finished,
    );

    // A job made through the API with the built-in handler is refused: no dump, dead at once.
    const [forged] = await engine.enqueueMany([
      { queue: "keel.backups", target: { handler: "keel.backup" } },
    ]);
    const dead = await jobState(engine, forged?.id as string, "dead");
    assert.match(dead.lastError?.message ?? "", /runs only from the config's schedule keel\.backup/);
    assert.equal((await listBackups(engine)).length, 1);

    // The schedule's switch (what `keel schedules pause` sets): its next slot is skipped, no job made.
    await engine.switches.set("scheduling:keel.backup", false, { by: "test", reason: "maintenance" });
    const next = (await engine.schedules.get("keel.backup")).nextFireAt;
    const later = createScheduler({
      engine,
      autoStart: false,
      now: () => new Date(next.getTime() + 1_000),
      hooks: { onFire: (e) => events.push(e) },
    });
    await later.tick();
    const [skipped] = await engine.schedules.runs("keel.backup");
    assert.equal(skipped?.outcome, "skipped");
    assert.equal(skipped?.reason, "paused");
    assert.equal(skipped?.jobId, null);
    await Promise.all([...replicas, later].map((s) => s.stop()));
  } finally {
    await keel.stop();
  }
});

test("the config's own schedules may not take the names backups: uses", () => {
  const parsed = parseConfigFile(
    { schedules: { "keel.backup": { cron: "0 2 * * *", target: { handler: "mine" } } } },
    "keel.config.yaml",
  );
  assert.ok("problems" in parsed);
  assert.match(
    parsed.problems.join("\n"),
    /schedules\.keel\.backup: keel\.backup is Keel's own schedule for backups/,
  );
});

test("process:keel.backups off: a triggered backup waits, unclaimed, until the switch is on again", async () => {
  const engine = await testEngine();
  const app = await appDatabase();
  const env = { APP_DATABASE_URL: urlOf(app) };
  const config = backupsSchema.parse({
    what: { app: "${APP_DATABASE_URL}" },
    dir: tempDir("backups-switch"),
    schedule: { cron: "0 2 * * *" },
  });
  await engine.schedules.sync(backupSchedules(config));
  await engine.switches.set("process:keel.backups", false, { by: "test" });
  const { jobs } = await engine.schedules.trigger("keel.backup");
  let passes = 0;
  const worker = createWorker({
    engine,
    queues: ["keel.backups"],
    concurrency: 1,
    maintenance: false,
    handlers: backupHandlers({ engine, config, env, keel: { connectionString: "", schema: "" } }),
    hooks: { onClaimPass: () => passes++ },
  });
  await worker.start();
  try {
    // Claim rounds that found the queue switched off: the job is still waiting, no backup taken.
    await waitFor(() => passes >= 3, 10_000, "three claim rounds");
    assert.equal((await engine.getJob(jobs[0]?.jobId as string)).state, "available");
    assert.equal((await listBackups(engine)).length, 0);
    await engine.switches.set("process:keel.backups", true, { by: "test" });
    await jobState(engine, jobs[0]?.jobId as string, "succeeded");
    assert.equal((await listBackups(engine))[0]?.status, "succeeded");
  } finally {
    await worker.stop();
  }
});
