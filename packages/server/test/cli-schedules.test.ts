import assert from "node:assert/strict";
import { test } from "node:test";
import { guardLeaks, testDatabaseUrl, testEngine } from "../../engine/test/helpers.js";
import { runKeel } from "./helpers.js";

// `keel schedules …` and `keel tenants …` as a real subprocess against a migrated schema.
guardLeaks();

const engine = await testEngine();

function keel(args: string[]) {
  return runKeel(args, { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: engine.schema });
}

test("keel schedules: list, next, pause, trigger, runs, resume; keel tenants", async () => {
  await engine.schedules.upsert("digest", {
    cron: "0 8 * * *",
    timezone: "America/New_York",
    target: { handler: "digest" },
  });
  const list = await keel(["schedules", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /digest\s+0 8 \* \* \*\s+America\/New_York/);

  const next = await keel(["schedules", "next", "digest", "--count", "2", "--json"]);
  assert.equal(JSON.parse(next.stdout).fireTimes.length, 2);

  assert.equal((await keel(["schedules", "pause", "digest", "--reason", "deploy"])).code, 0);
  assert.equal((await engine.schedules.get("digest")).paused, true);
  const trigger = await keel(["schedules", "trigger", "digest", "--json"]);
  assert.equal(trigger.code, 0, trigger.stderr);
  const jobId = JSON.parse(trigger.stdout).jobs[0].jobId as string;
  assert.deepEqual((await engine.getJob(jobId)).origin?.trigger, "manual");
  const runs = await keel(["schedules", "runs", "digest"]);
  assert.match(runs.stdout, new RegExp(`manual\\s+enqueued\\s+${jobId} available`));
  assert.equal((await keel(["schedules", "resume", "digest"])).code, 0);
  assert.equal((await engine.schedules.get("digest")).paused, false);
  const audit = (await engine.auditLog.list({ limit: 10 })).map((a) => a.action);
  assert.ok(
    audit.includes("schedule.pause") &&
      audit.includes("schedule.trigger") &&
      audit.includes("schedule.resume"),
    `${audit}`,
  );

  const missing = await keel(["schedules", "trigger", "nope", "--json"]);
  assert.notEqual(missing.code, 0);
  assert.equal(JSON.parse(missing.stderr).error.code, "schedule_not_found");

  assert.equal((await keel(["tenants", "add", "acme", "globex"])).code, 0);
  assert.deepEqual(
    JSON.parse((await keel(["tenants", "list", "--json"])).stdout).tenants.map((t: { id: string }) => t.id),
    ["acme", "globex"],
  );
  const bad = await keel(["tenants", "add", "no spaces"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid_tenant|Tenant 'no spaces'/);
});
