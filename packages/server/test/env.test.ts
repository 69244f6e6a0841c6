import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { isKeelError } from "@keel/engine";
import { loadEnv, redactDatabaseUrl } from "../src/config/env.js";

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(isKeelError(err, "invalid_config"), String(err));
    return err.details.list as string[];
  }
  assert.fail("expected a configuration error");
}

test("defaults: embedded Postgres in ./.keel, schema keel, port 7070, role all", () => {
  assert.deepEqual(loadEnv({}), {
    databaseUrl: undefined,
    dataDir: resolve(".keel"),
    schema: "keel",
    port: 7070,
    host: "0.0.0.0",
    role: "all",
    logLevel: "info",
    nodeEnv: undefined,
    production: false,
    signingSecrets: undefined,
    adminToken: undefined,
    console: { enabled: true, tokens: true, password: undefined },
    metricsToken: undefined,
    targetAllowlist: [],
    targetVariables: [],
    configFile: undefined,
    leaseMs: 30_000,
    trustProxy: false,
    redisUrl: undefined,
    redisRequired: false,
  });
});

test("reads every variable; empty ones count as unset; flags win over the environment", () => {
  const env = loadEnv(
    {
      DATABASE_URL: "postgresql://app:pw@db.internal:5433/app?sslmode=require",
      KEEL_DATA_DIR: "/var/lib/keel",
      KEEL_SCHEMA: "jobs_2",
      PORT: "8080",
      KEEL_HOST: "127.0.0.1",
      KEEL_ROLE: "api",
      KEEL_LOG_LEVEL: "",
      NODE_ENV: "production",
      KEEL_ADMIN_TOKEN: "a".repeat(32),
      KEEL_METRICS_TOKEN: "m".repeat(32),
      KEEL_SIGNING_SECRET: `whsec_${Buffer.alloc(24, 1).toString("base64")}`,
      KEEL_LEASE_SECONDS: "10",
    },
    { role: "worker", port: 0 },
  );
  // The driver's check for sslmode=require, spelled so it does not warn (docs/running.md).
  assert.equal(env.databaseUrl, "postgresql://app:pw@db.internal:5433/app?sslmode=verify-full");
  assert.equal(env.host, "127.0.0.1");
  assert.equal(env.dataDir, "/var/lib/keel");
  assert.equal(env.schema, "jobs_2");
  assert.equal(env.port, 0);
  assert.equal(env.role, "worker");
  assert.equal(env.logLevel, "info");
  assert.equal(env.production, true);
  assert.equal(env.leaseMs, 10_000);
});

test("lists every problem at once, each saying how to fix it, without echoing the database URL", () => {
  const problems = problemsOf(() =>
    loadEnv({
      DATABASE_URL: "http://user:s3cret@db/app",
      KEEL_SCHEMA: "Keel-Jobs",
      PORT: "70000",
      KEEL_ROLE: "everything",
      KEEL_LOG_LEVEL: "loud",
    }),
  );
  assert.equal(problems.length, 5);
  assert.match(problems[0] ?? "", /^DATABASE_URL is not a Postgres URL\. Use postgres:\/\//);
  assert.match(problems[1] ?? "", /^KEEL_SCHEMA="Keel-Jobs" must be lowercase letters/);
  assert.match(problems[2] ?? "", /^PORT="70000" must be between 0 and 65535/);
  assert.match(problems[3] ?? "", /^KEEL_ROLE="everything" must be one of all, api, worker, scheduler/);
  assert.match(problems[4] ?? "", /^KEEL_LOG_LEVEL="loud" must be one of/);
  assert.doesNotMatch(problems.join("\n"), /s3cret/);
});

test("production needs DATABASE_URL, reported along with the other problems", () => {
  const problems = problemsOf(() => loadEnv({ NODE_ENV: "production", PORT: "x" }));
  // PORT, DATABASE_URL and the three production secrets.
  assert.equal(problems.length, 5);
  assert.match(problems.join("\n"), /DATABASE_URL is required when NODE_ENV=production/);
});

test("a bad --port is named as the flag", () => {
  const [problem] = problemsOf(() => loadEnv({}, { port: "-1" }));
  assert.match(problem ?? "", /^PORT="-1" \(--port\) must be a whole number/);
});

test("accepts a Unix-socket URL; redaction drops the password", () => {
  assert.equal(
    loadEnv({ DATABASE_URL: "postgres:///app?host=/var/run/postgresql" }).databaseUrl?.startsWith(
      "postgres:",
    ),
    true,
  );
  assert.equal(redactDatabaseUrl("postgres://app:pw@db:5432/app?password=pw"), "postgres://app@db:5432/app");
});
