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
    directDatabaseUrl: undefined,
    pooler: "none",
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
    deliveryHostConcurrency: 20,
    deliveryHostRate: 0,
    trustProxy: false,
    redisUrl: undefined,
    redisRequired: false,
    rateLimitTimeoutMs: 50,
    qstashKeys: undefined,
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
      KEEL_RATELIMIT_TIMEOUT_MS: "250",
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
  assert.equal(env.rateLimitTimeoutMs, 250);
});

test("KEEL_RATELIMIT_TIMEOUT_MS: whole milliseconds from 1 to 10000", () => {
  for (const bad of ["0", "10001", "1.5", "fast"]) {
    const [problem] = problemsOf(() => loadEnv({ KEEL_RATELIMIT_TIMEOUT_MS: bad }));
    assert.match(
      problem ?? "",
      /^KEEL_RATELIMIT_TIMEOUT_MS=.* must be (a whole number|between 1 and 10000)/,
      bad,
    );
  }
});

test("KEEL_DELIVERY_HOST_RATE: whole deliveries a second, 0 for none", () => {
  assert.equal(loadEnv({ KEEL_DELIVERY_HOST_RATE: "50" }).deliveryHostRate, 50);
  for (const bad of ["-1", "2.5", "fast", "1000001"]) {
    const [problem] = problemsOf(() => loadEnv({ KEEL_DELIVERY_HOST_RATE: bad }));
    assert.match(problem ?? "", /^KEEL_DELIVERY_HOST_RATE=.* must be (a whole number|at most 1000000)/, bad);
  }
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

test("a direct URL beside a pooled DATABASE_URL: KEEL_DIRECT_DATABASE_URL, else DIRECT_URL, else DATABASE_URL_UNPOOLED", () => {
  const pooled = "postgres://app:pw@ep-cool-1-pooler.eu.aws.neon.tech/app?sslmode=require";
  const direct = "postgres://app:pw@ep-cool-1.eu.aws.neon.tech/app?sslmode=require";
  const neon = loadEnv({ DATABASE_URL: pooled, DATABASE_URL_UNPOOLED: direct });
  // Both spelled so the driver does not print its sslmode warning (docs/running.md).
  assert.equal(
    neon.directDatabaseUrl,
    "postgres://app:pw@ep-cool-1.eu.aws.neon.tech/app?sslmode=verify-full",
  );
  assert.equal(neon.pooler, "transaction");
  const prisma = loadEnv({
    DATABASE_URL: pooled,
    DIRECT_URL: "postgres://a@direct/app",
    DATABASE_URL_UNPOOLED: direct,
  });
  assert.equal(prisma.directDatabaseUrl, "postgres://a@direct/app");
  const keel = loadEnv({
    DATABASE_URL: pooled,
    KEEL_DIRECT_DATABASE_URL: "postgres://k@direct/app",
    DIRECT_URL: "postgres://a@direct/app",
  });
  assert.equal(keel.directDatabaseUrl, "postgres://k@direct/app");
  // Embedded Postgres: nothing to bypass.
  assert.deepEqual(
    [loadEnv({ DIRECT_URL: direct }).directDatabaseUrl, loadEnv({ DIRECT_URL: direct }).pooler],
    [undefined, "none"],
  );
});

test("the pooler mode: KEEL_DATABASE_POOLER, else detected from a direct URL or a pooler's host or port", () => {
  const pooler = (env: Record<string, string>) => loadEnv(env).pooler;
  assert.equal(pooler({ DATABASE_URL: "postgres://a@db:5432/app" }), "none");
  assert.equal(
    pooler({ DATABASE_URL: "postgres://a@db:5432/app", DIRECT_URL: "postgres://a@db:5432/app" }),
    "none",
  );
  assert.equal(
    pooler({ DATABASE_URL: "postgres://a@db:6432/app", DIRECT_URL: "postgres://a@db:5432/app" }),
    "transaction",
  );
  assert.equal(
    pooler({ DATABASE_URL: "postgres://a@aws-0-eu.pooler.supabase.com:6543/postgres" }),
    "transaction",
  );
  assert.equal(pooler({ DATABASE_URL: "postgres://a@ep-x-pooler.neon.tech/app" }), "transaction");
  assert.equal(pooler({ DATABASE_URL: "postgres://a@db:6432/app", KEEL_DATABASE_POOLER: "none" }), "none");
  assert.equal(
    pooler({ DATABASE_URL: "postgres://a@db/app", KEEL_DATABASE_POOLER: "transaction" }),
    "transaction",
  );
  const problems = problemsOf(() =>
    loadEnv({
      DATABASE_URL: "postgres://a@db/app",
      KEEL_DATABASE_POOLER: "session",
      DIRECT_URL: "mysql://u:s3cret@x/db",
    }),
  );
  assert.deepEqual(problems.length, 2);
  assert.match(problems.join("\n"), /^DIRECT_URL is not a Postgres URL/m);
  assert.match(problems.join("\n"), /^KEEL_DATABASE_POOLER="session" must be transaction/m);
  assert.doesNotMatch(problems.join("\n"), /s3cret/);
});

test("KEEL_QSTASH_*_SIGNING_KEY: both or neither, and never echoed in the problem", () => {
  const keys = loadEnv({
    KEEL_QSTASH_CURRENT_SIGNING_KEY: "sig_current",
    KEEL_QSTASH_NEXT_SIGNING_KEY: "sig_next",
  });
  assert.deepEqual(keys.qstashKeys, { current: "sig_current", next: "sig_next" });
  assert.throws(
    () => loadEnv({ KEEL_QSTASH_CURRENT_SIGNING_KEY: "sig_only_current" }),
    (err: Error) =>
      /KEEL_QSTASH_NEXT_SIGNING_KEY is not set while KEEL_QSTASH_CURRENT_SIGNING_KEY is/.test(err.message) &&
      !err.message.includes("sig_only_current"),
  );
});
