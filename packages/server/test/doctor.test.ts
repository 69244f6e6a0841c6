import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Engine } from "@keel/engine";
import { KeelClient } from "@keel/sdk";
import pg from "pg";
import { guardLeaks, onCleanup, testDatabaseUrl, testEngine } from "../../engine/test/helpers.js";
import { readDoctorInputs } from "../src/doctor/inputs.js";
import { runDoctor } from "../src/doctor/run.js";
import type { DoctorCheck, DoctorReport } from "../src/doctor/types.js";
import { startEmbeddedPostgres } from "../src/embedded/postgres.js";
import { KeelMetrics } from "../src/metrics/index.js";
import { contractCheckedApi } from "./api-harness.js";
import { closedPort, promtool, promtoolAvailable, runKeel, tempDir } from "./helpers.js";

// `keel doctor` against real components: the test Postgres (a fresh schema), loopback HTTP
// servers standing in for the application's cron endpoints, and a `keel` subprocess.

guardLeaks();

const strong = () => randomBytes(32).toString("base64url");
const SIGNING = `whsec_${randomBytes(32).toString("base64")}`;

/** A cron endpoint: records each request's headers; `open` answers 200 to anyone, else 401 without `secret`. */
async function cronEndpoint(options: { open: boolean; secret?: string }) {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    const authorized = options.open || req.headers.authorization === `Bearer ${options.secret}`;
    res.writeHead(authorized ? 200 : 401).end(authorized ? "ran" : "unauthorized");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => new Promise((resolve) => server.close(resolve)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/cron/nightly`;
  return { url, seen };
}

/** A config file with one cron schedule whose target sends `Authorization: Bearer ${variable}`. */
function configFile(url: string, variable: string): string {
  const path = join(tempDir("doctor"), "keel.config.json");
  const schedule = {
    cron: "0 3 * * *",
    timezone: "Europe/London",
    target: { url, headers: { Authorization: `Bearer \${${variable}}` } },
  };
  writeFileSync(path, JSON.stringify({ schedules: { nightly: schedule } }));
  return path;
}

const byId = (report: DoctorReport, id: string): DoctorCheck => {
  const check = report.checks.find((c) => c.id === id);
  assert.ok(check, `no check ${id} in ${report.checks.map((c) => c.id).join(", ")}`);
  return check;
};

/** The environment of a misconfigured production deployment on the test Postgres. */
async function misconfigured() {
  const engine = await testEngine();
  const endpoint = await cronEndpoint({ open: true });
  const env: Record<string, string> = {
    NODE_ENV: "production",
    DATABASE_URL: testDatabaseUrl(),
    KEEL_SCHEMA: engine.schema,
    KEEL_ADMIN_TOKEN: "changeme",
    KEEL_METRICS_TOKEN: strong(),
    KEEL_SIGNING_SECRET: SIGNING,
    KEEL_TARGET_ALLOWLIST: "127.0.0.1",
    // CRON_SECRET_UNSET is, as its name says, not set.
    KEEL_CONFIG: configFile(endpoint.url, "CRON_SECRET_UNSET"),
  };
  return { engine, endpoint, env };
}

describe("a misconfigured deployment", async () => {
  const { engine, endpoint, env } = await misconfigured();

  test("fails on the unset variable, the open cron target, the weak secret and an idle transaction", async () => {
    // A session that began a transaction and went idle, as a leaked client does.
    const idle = new pg.Client({ connectionString: testDatabaseUrl(), application_name: "doctor-test-idle" });
    await idle.connect();
    onCleanup(() => idle.end());
    await idle.query("begin");
    const [{ pid }] = (await idle.query<{ pid: number }>("select pg_backend_pid() as pid")).rows as [
      { pid: number },
    ];

    // A source made through the API whose secret names an unset variable.
    await engine.intake.sources.put(
      "billing",
      { provider: "stripe", secrets: ["${STRIPE_SECRET_UNSET}"] },
      { managedBy: "api" },
    );

    const inputs = await readDoctorInputs(env);
    const report = await runDoctor({ ...inputs, engine, self: 0 }, { idleInTransactionSeconds: 0 });

    assert.equal(report.status, "fail");
    const admin = byId(report, "config.admin_token");
    assert.equal(admin.status, "fail");
    assert.match(admin.seen, /weak: 8 characters/);
    assert.doesNotMatch(JSON.stringify(report), /changeme/, "a secret's value is never reported");

    const variables = byId(report, "config.variables");
    assert.equal(variables.status, "fail");
    assert.match(
      variables.seen,
      /\$\{CRON_SECRET_UNSET\} \(schedules\.nightly\.target\.headers\.Authorization\)/,
    );
    assert.match(variables.seen, /\$\{STRIPE_SECRET_UNSET\} \(sources\.billing\.secrets\.0\)/);
    assert.match(variables.fix ?? "", /set CRON_SECRET_UNSET, STRIPE_SECRET_UNSET/);

    const probe = byId(report, "probe.schedule.nightly");
    assert.equal(probe.status, "fail");
    assert.match(probe.seen, /answered 200 to a request without credentials/);
    assert.equal(endpoint.seen.length, 1, "one probe request");
    assert.equal(endpoint.seen[0]?.authorization, undefined, "the probe carries no credentials");
    assert.equal(endpoint.seen[0]?.["webhook-signature"], undefined, "nor Keel's signature");

    const sessions = byId(report, "postgres.sessions");
    assert.equal(sessions.status, "fail");
    assert.match(sessions.seen, new RegExp(`pid ${pid} \\(doctor-test-idle\\) idle in transaction`));
    assert.match(sessions.fix ?? "", /idle_in_transaction_session_timeout/);

    // Every problem says how to fix it; every pass has nothing to fix.
    for (const c of report.checks) assert.equal(c.fix === null, c.status === "pass", c.id);
    await idle.query("rollback");
  });

  test("keel doctor --json exits 7 with the report; the text form names each failed check", async () => {
    const json = await runKeel(["doctor", "--json"], env);
    assert.equal(json.code, 7, json.stderr);
    const report = JSON.parse(json.stdout) as DoctorReport;
    assert.equal(report.status, "fail");
    assert.equal(byId(report, "config.admin_token").status, "fail");
    assert.equal(byId(report, "probe.schedule.nightly").status, "fail");

    const text = await runKeel(["doctor", "--no-probes"], env);
    assert.equal(text.code, 7, text.stderr);
    assert.match(text.stdout, /^Keel doctor: \d+ fail, \d+ warn, \d+ pass/);
    assert.match(text.stdout, /FAIL {2}config\.admin_token\n {6}seen: KEEL_ADMIN_TOKEN is weak/);
    assert.doesNotMatch(text.stdout, /probe\./, "--no-probes sends no probe");
  });
});

test("an unreachable Postgres is a failed check, not an error: the other checks still run", async () => {
  const env = {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/keel`,
    KEEL_CONFIG: configFile("https://app.example.com/api/cron/nightly", "CRON_SECRET_UNSET"),
  };
  const run = await runKeel(["doctor", "--json", "--no-probes"], env);
  assert.equal(run.code, 7, run.stderr);
  const report = JSON.parse(run.stdout) as DoctorReport;
  const connect = byId(report, "postgres.connect");
  assert.equal(connect.status, "fail");
  assert.match(
    connect.seen,
    /cannot be used: .*ECONNREFUSED|cannot be used: .*unavailable|cannot be used: .*reach/i,
  );
  assert.equal(byId(report, "config.variables").status, "fail", "the config file's checks ran");
  assert.equal(report.checks.filter((c) => c.id.startsWith("operations.")).length, 0);
});

test("a correct deployment passes every check, and keel doctor --json exits 0", async () => {
  // The embedded Postgres: a server of the test's own, with the default autovacuum (the shared
  // test server may run without it) and no other client's sessions.
  const postgres = await startEmbeddedPostgres({ dataDir: tempDir("doctor-pg") });
  try {
    await correctDeployment(postgres.connectionString);
  } finally {
    // Before the test's own cleanup removes the data directory.
    await postgres.stop();
  }
});

async function correctDeployment(connectionString: string): Promise<void> {
  const engine = await Engine.connect({ connectionString, migrate: true });
  await engine.close();
  const secret = strong();
  const endpoint = await cronEndpoint({ open: false, secret });
  const env = {
    NODE_ENV: "production",
    DATABASE_URL: connectionString,
    KEEL_ADMIN_TOKEN: strong(),
    KEEL_METRICS_TOKEN: strong(),
    KEEL_SIGNING_SECRET: SIGNING,
    KEEL_TARGET_ALLOWLIST: "127.0.0.1",
    CRON_SECRET: secret,
    KEEL_CONFIG: configFile(endpoint.url, "CRON_SECRET"),
  };
  const run = await runKeel(["doctor", "--json"], env);
  const report = JSON.parse(run.stdout) as DoctorReport;
  // The embedded Postgres is 15: once its community support ends (2027-11-11), postgres.version
  // warns, as it should; that warning is the only one allowed, and warnings still exit 0.
  const ended = (c: DoctorCheck) =>
    c.id === "postgres.version" && c.status === "warn" && /community support ended/.test(c.seen);
  const problems = report.checks.filter((c) => c.status !== "pass" && !ended(c));
  assert.deepEqual(problems, [], "checks that did not pass");
  assert.equal(report.status, report.checks.some(ended) ? "warn" : "pass");
  assert.equal(run.code, 0, run.stderr);
  assert.equal(byId(report, "probe.schedule.nightly").seen.includes("answered 401"), true);
  assert.equal(endpoint.seen.length, 1);
  assert.equal(endpoint.seen[0]?.authorization, undefined);

  // Autovacuum turned off for one of Keel's hot tables is found, with the statement that undoes it.
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  try {
    await admin.query("alter table keel.jobs set (autovacuum_enabled = off)");
  } finally {
    await admin.end();
  }
  const again = await runKeel(["doctor", "--json", "--no-probes"], env);
  assert.equal(again.code, 7, again.stderr);
  const failed = (JSON.parse(again.stdout) as DoctorReport).checks.filter((c) => c.status === "fail");
  assert.deepEqual(failed, [
    {
      id: "postgres.autovacuum",
      status: "fail",
      seen: "autovacuum is turned off for keel.jobs",
      fix: "ALTER TABLE keel.jobs RESET (autovacuum_enabled);",
    },
  ]);
}

describe("GET /v1/doctor and keel_doctor_check", async () => {
  const { call, app, admin } = await contractCheckedApi();

  test("answers 200 with the report as its contract says, whatever the checks found", async () => {
    const res = await call("GET", "/v1/doctor?probes=false");
    assert.equal(res.statusCode, 200);
    const report = res.json() as DoctorReport;
    assert.ok(["pass", "warn", "fail"].includes(report.status));
    assert.equal(byId(report, "postgres.connect").status, "pass");
    assert.equal(report.checks.filter((c) => c.id.startsWith("probe.")).length, 0);
    assert.equal((await call("GET", "/v1/doctor?probes=maybe")).statusCode, 400);
  });

  test("the SDK client reads it as keel.doctor()", async () => {
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    const keel = new KeelClient({ baseUrl: `http://127.0.0.1:${port}`, token: admin });
    const report = await keel.doctor({ probes: false });
    assert.equal(byId(report, "postgres.connect").status, "pass");
    assert.ok(report.checks.every((c) => !c.id.startsWith("probe.")));
  });

  test("the metric has one sample per check and status, and promtool accepts it", async (t) => {
    const engine = await testEngine();
    const metrics = new KeelMetrics({ engine });
    const report: Pick<DoctorReport, "checks"> = {
      checks: [
        { id: "config.admin_token", status: "fail", seen: "weak", fix: "replace it" },
        { id: "postgres.version", status: "pass", seen: "Postgres 17", fix: null },
      ],
    };
    metrics.recordDoctor(report);
    metrics.recordDoctor(report);
    const text = await metrics.metrics();
    const samples = text.split("\n").filter((l) => l.startsWith("keel_doctor_check{"));
    assert.deepEqual(samples.sort(), [
      'keel_doctor_check{check="config.admin_token",status="fail"} 1',
      'keel_doctor_check{check="config.admin_token",status="pass"} 0',
      'keel_doctor_check{check="config.admin_token",status="warn"} 0',
      'keel_doctor_check{check="postgres.version",status="fail"} 0',
      'keel_doctor_check{check="postgres.version",status="pass"} 1',
      'keel_doctor_check{check="postgres.version",status="warn"} 0',
    ]);
    if (!promtoolAvailable(t)) return;
    const { code, output } = await promtool(text);
    assert.equal(output.trim(), "", "promtool printed complaints");
    assert.equal(code, 0);
  });
});
