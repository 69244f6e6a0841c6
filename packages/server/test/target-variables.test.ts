import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { openResources } from "@keel/engine";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { startKeel } from "../src/runtime/start.js";
import { startEndpoint } from "./fixtures/delivery-servers.js";
import { memoryLogger, tempDir } from "./helpers.js";

// Which `${VAR}`s a job's target headers may read (decision 026): KEEL_TARGET_VARIABLES for
// every job, plus what the config file names for the jobs made from it; never Keel's own.

const STRIPE_SECRET = "whsec_c3RyaXBlLXNlY3JldC12YWx1ZS1uZXZlci1zZW50";
const CRON_SECRET = "cron-secret-value-for-the-config-schedule";
const HOOK_TOKEN = "hook-token-value-allowed-by-the-operator";
const ADMIN = "admin-token-for-the-target-variables-test-0123456789";

const receiver = await startEndpoint((_req, res) => res.writeHead(200).end("ok"));
after(() => receiver.close());
const dir = tempDir("keel-target-variables");
const configFile = join(dir, "keel.config.json");
writeFileSync(
  configFile,
  JSON.stringify({
    schedules: {
      nightly: {
        cron: "0 3 * * *",
        target: {
          url: `${receiver.origin}/cron/nightly`,
          headers: { Authorization: "Bearer ${CRON_SECRET}" },
        },
      },
    },
    sources: { stripe: { provider: "stripe", secrets: ["${STRIPE_WEBHOOK_SECRET}"] } },
  }),
);
const keel = await startKeel({
  env: {
    DATABASE_URL: testDatabaseUrl(),
    KEEL_SCHEMA: freshSchema("tvars"),
    PORT: "0",
    KEEL_CONFIG: configFile,
    KEEL_ADMIN_TOKEN: ADMIN,
    KEEL_TARGET_VARIABLES: "HOOK_*",
    STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
    CRON_SECRET,
    HOOK_TOKEN,
  },
  host: "127.0.0.1",
  logger: memoryLogger().logger,
  timers: { sweepIntervalMs: 50 },
});
// One process for the file (its workers run across the tests); nothing may outlive it.
after(async () => {
  await keel.stop();
  assert.deepEqual(openResources(), [], "resources left open after stop");
});
const { engine } = keel;

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${keel.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

function header(url: string, value: string) {
  return { url: `${receiver.origin}${url}`, headers: { "x-forwarded-secret": value } };
}

/** Every request the receiver got, as one string, to look for a leaked value. */
const everythingReceived = () => JSON.stringify(receiver.received);

describe("a target written through the API", () => {
  test("reading a variable not in KEEL_TARGET_VARIABLES is refused with 400, naming it and how to allow it", async () => {
    for (const variable of ["STRIPE_WEBHOOK_SECRET", "CRON_SECRET"]) {
      const res = await api("POST", "/v1/jobs", { target: header("/leak", `\${${variable}}`) });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error.code, "target_variable_not_allowed");
      assert.match(
        res.json.error.message,
        new RegExp(`target\\.headers\\.x-forwarded-secret uses \\$\\{${variable}\\}`),
      );
      assert.match(res.json.error.message, new RegExp(`KEEL_TARGET_VARIABLES=${variable}`));
    }
    const batch = await api("POST", "/v1/jobs/batch", {
      jobs: [{ target: header("/ok", "plain") }, { target: header("/leak", "${STRIPE_WEBHOOK_SECRET}") }],
    });
    assert.equal(batch.status, 400);
    assert.match(batch.json.error.message, /jobs\.1\.target\.headers/);
    const own = await api("POST", "/v1/jobs", { target: header("/leak", "${KEEL_ADMIN_TOKEN}") });
    assert.equal(own.status, 400);
    assert.match(own.json.error.message, /Keel's own configuration/);
    const schedule = await api("PUT", "/v1/schedules/leaky", {
      cron: "0 6 * * *",
      target: header("/leak", "Bearer ${STRIPE_WEBHOOK_SECRET}"),
    });
    assert.equal(schedule.status, 400, schedule.text);
    assert.equal(schedule.json.error.code, "target_variable_not_allowed");
    const source = await api("PUT", "/v1/sources/leaky", {
      provider: "bearer",
      secrets: ["a-long-enough-bearer-secret-value-0123456789"],
      routes: [{ target: header("/leak", "${STRIPE_WEBHOOK_SECRET}") }],
    });
    assert.equal(source.status, 400, source.text);
    assert.match(source.json.error.message, /routes\.0\.target\.headers\.x-forwarded-secret/);
    const { rows } = await engine.pool.query(`select count(*)::int as n from "${engine.schema}".jobs`);
    assert.equal(rows[0].n, 0, "nothing was enqueued");
  });

  test("a variable KEEL_TARGET_VARIABLES allows is delivered", async () => {
    const res = await api("POST", "/v1/jobs", { target: header("/allowed", "Bearer ${HOOK_TOKEN}") });
    assert.equal(res.status, 201, res.text);
    await waitFor(() => receiver.received.find((r) => r.url === "/allowed"), 10_000, "the delivery");
    const got = receiver.received.find((r) => r.url === "/allowed");
    assert.equal(got?.headers["x-forwarded-secret"], `Bearer ${HOOK_TOKEN}`);
  });
});

describe("at delivery, whatever put the job there", () => {
  test("a job that reads a variable it may not is refused and never sends the value", async () => {
    // As a job stored before this check, or enqueued in-process: the deliverer refuses it too,
    // including one that claims to come from the config file but names a variable the file's
    // targets do not (the Stripe secret verifies intake; no target header uses it).
    const jobs = await engine.enqueueMany([
      { queue: "leak", target: header("/leak-1", "${STRIPE_WEBHOOK_SECRET}"), maxAttempts: 1 },
      { queue: "leak", target: header("/leak-2", "${CRON_SECRET}"), maxAttempts: 1 },
      {
        queue: "leak",
        target: header("/leak-3", "${STRIPE_WEBHOOK_SECRET}"),
        maxAttempts: 1,
        origin: { schedule: "nightly", config: true },
      },
    ]);
    for (const { id } of jobs) {
      await waitFor(async () => (await engine.getJob(id)).state === "dead", 10_000, `job ${id} dead`);
      const job = await engine.getJob(id);
      assert.equal(job.lastError?.code, "delivery_variable_refused");
      assert.match(job.lastError?.message ?? "", /KEEL_TARGET_VARIABLES/);
    }
    assert.ok(!receiver.received.some((r) => r.url.startsWith("/leak")), "no request was sent");
    assert.ok(!everythingReceived().includes(STRIPE_SECRET));
  });

  test("a config-file schedule reads the variable the file names, without KEEL_TARGET_VARIABLES", async () => {
    const { jobs } = await engine.schedules.trigger("nightly");
    const id = jobs[0]?.jobId as string;
    await waitFor(
      () => receiver.received.find((r) => r.url === "/cron/nightly"),
      10_000,
      "the schedule's run",
    );
    assert.equal(
      receiver.received.find((r) => r.url === "/cron/nightly")?.headers.authorization,
      `Bearer ${CRON_SECRET}`,
    );
    const job = await api("GET", `/v1/jobs/${id}`);
    assert.deepEqual(job.json.origin.config, true, "marked as made from the config file");
    assert.ok(!everythingReceived().includes(STRIPE_SECRET));
  });
});
