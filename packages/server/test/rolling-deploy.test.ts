import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { codeSchemaVersion, createPool, knownMigrations, migrate } from "@keel/engine";
import { deferred, freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { newerMigrations } from "../../engine/test/newer-migrations.js";
import { buildPreviousRelease } from "./fixtures/previous-release.js";
import { get, type KeelProcess, logLine, spawnKeel } from "./helpers.js";

// A two-version rolling deploy, for real: `keel start` of the release before rolling-deploy
// support (built once per file from git) runs while this code migrates the schema past it.

const previous = buildPreviousRelease();
const ADMIN = "r".repeat(40);

function printed(keel: KeelProcess): string {
  return `${keel.lines.map((l) => JSON.stringify(l)).join("\n")}\n${keel.other.join("\n")}`;
}

async function waitReady(keel: KeelProcess): Promise<number> {
  const started = await waitFor(
    () => logLine(keel, "keel started") ?? (keel.child.exitCode !== null ? "exited" : undefined),
    20_000,
    "keel started",
  );
  assert.ok(started !== "exited", `keel exited early:\n${printed(keel)}`);
  const port = started.port as number;
  await waitFor(
    async () => (await get(`http://127.0.0.1:${port}/health/ready`))?.status === 200,
    10_000,
    "ready",
  );
  return port;
}

async function stop(keel: KeelProcess): Promise<void> {
  keel.child.kill("SIGTERM");
  assert.equal((await keel.exited).code, 0, printed(keel));
}

test("the previous release stays ready and delivers through an additive migration, and refuses a breaking one", async (t) => {
  t.diagnostic(`previous release ${previous.commit.slice(0, 12)}, built in ${previous.buildMs} ms`);
  const schema = freshSchema("rolling");
  const env = { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: schema, PORT: "0", KEEL_ADMIN_TOKEN: ADMIN };
  const pool = createPool({ connectionString: testDatabaseUrl(), max: 1 });
  after(() => pool.end());

  // The application the old Keel delivers to.
  const delivered = deferred<{ jobId: string; body: string }>();
  const app = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      res.end("ok");
      delivered.resolve({ jobId: String(req.headers["keel-job-id"]), body });
    });
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  after(() => new Promise((resolve) => app.close(resolve)));
  const appPort = (app.address() as AddressInfo).port;

  // Before the deploy: the previous release alone, on a schema it migrated.
  const old = spawnKeel(["start"], env, previous.bin);
  const port = await waitReady(old);
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    });

  // The premise: every migration since the previous release is additive. A breaking one makes
  // this release's deploy not rolling (old replicas turn unready when it applies): say so in the
  // CHANGELOG, and let this test build a release from after it.
  const breakingSince = knownMigrations().filter(
    (m) => m.id > previous.schemaVersion && m.kind === "breaking",
  );
  assert.deepEqual(
    breakingSince.map((m) => `${m.id}_${m.name}`),
    [],
    "breaking migrations since the previous release",
  );

  // The first new replica migrates: this code's migrations and an additive one of its own.
  const additive = {
    kind: "additive" as const,
    name: "rolling_additive",
    sql: "alter table jobs add column rolling_note text; create table rolling_probe (id int primary key);",
  };
  const additiveId = codeSchemaVersion() + 1;
  const first = await migrate(pool, schema, {
    migrations: newerMigrations(additive),
    keelVersion: "9.9.0",
  });
  assert.ok(first.applied.includes(additiveId));

  // The old replica stays ready, takes a job through its API and delivers it.
  const ready = await get(`http://127.0.0.1:${port}/health/ready`);
  assert.equal(ready?.status, 200, JSON.stringify(ready?.body));
  assert.equal(ready?.body.status, "pass");
  const created = await api("/v1/jobs", {
    method: "POST",
    body: JSON.stringify({ target: { url: `http://127.0.0.1:${appPort}/hook` }, payload: { order: 1 } }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { id } = (await created.json()) as { id: string };
  const got = await delivered.promise;
  assert.equal(got.jobId, id);
  assert.deepEqual(JSON.parse(got.body), { order: 1 });
  await waitFor(
    async () => ((await (await api(`/v1/jobs/${id}`)).json()) as { state: string }).state === "succeeded",
  );

  // An old replica restarting mid-deploy (a crash, a reschedule) comes up ready too.
  const restarted = spawnKeel(["start", "--role", "worker"], env, previous.bin);
  await waitReady(restarted);
  await stop(restarted);

  // A breaking migration: the old replica turns unready, naming the migration it does not know.
  const breaking = {
    kind: "breaking" as const,
    name: "rolling_breaking",
    sql: "alter table jobs rename column rolling_note to rolling_remark",
  };
  await migrate(pool, schema, {
    migrations: newerMigrations(additive, breaking),
    keelVersion: "9.9.1",
  });
  const unready = await get(`http://127.0.0.1:${port}/health/ready`);
  assert.equal(unready?.status, 503);
  const checks = (unready?.body.checks ?? {}) as Record<string, { status: string; output: string }[]>;
  const [check] = checks["postgres:schema"] ?? [];
  assert.equal(check?.status, "fail");
  assert.match(
    String(check?.output),
    new RegExp(
      `is at migration ${additiveId + 1}, newer than this Keel binary knows \\(${previous.schemaVersion}\\)`,
    ),
  );
  await stop(old);

  // Neither the previous release nor this one starts on it; this one names the Keel to run.
  for (const [keel, message] of [
    [spawnKeel(["start"], env, previous.bin), /newer than this Keel binary knows/],
    [spawnKeel(["start"], env), /is breaking for this Keel .*Run Keel 9\.9\.1 or newer/],
  ] as const) {
    assert.equal((await keel.exited).code, 1, printed(keel));
    const fatal = keel.lines.find((l) => l.level === "fatal");
    assert.equal(fatal?.code, "schema_too_new", printed(keel));
    assert.match(String(fatal?.msg), message);
  }
});
