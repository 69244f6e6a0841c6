import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { isKeelError } from "@keel/engine";
import { freshSchema, testDatabaseUrl } from "../../engine/test/helpers.js";
import { loadEnv } from "../src/config/env.js";
import { loadStartConfig } from "../src/config/load.js";
import { startKeel } from "../src/runtime/start.js";
import { guardServerLeaks, memoryLogger, tempDir } from "./helpers.js";

// Config problems are reported all at once, and `${VAR}`s the config file's targets use are
// checked at start (a warning and a /health check) instead of when a run fires.

guardServerLeaks();
const dir = tempDir("config-problems");

function configFile(content: object): string {
  const file = join(dir, `keel.${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const SCHEDULE_USING = (variable: string) => ({
  cron: "0 6 * * *",
  target: { url: "https://crm.example.com/api/cron/a", headers: { Authorization: `Bearer \${${variable}}` } },
});

describe("keel start reports every configuration problem in one round", () => {
  test("environment, file typo, source secret and unset target variable together in one invalid_config", async () => {
    const file = configFile({
      schedules: {
        typo: { crn: "0 6 * * *", target: { url: "https://crm.example.com/x" } },
        nightly: SCHEDULE_USING("CRON_SECRET_NOT_SET"),
      },
      sources: { stripe: { provider: "stripe", secrets: ["${STRIPE_SECRET_NOT_SET}"] } },
    });
    const err = await startKeel({
      env: { PORT: "http", KEEL_CONFIG: file, DATABASE_URL: testDatabaseUrl(), SET_BUT_SECRET: "value-x" },
      logger: memoryLogger().logger,
    }).then(
      () => assert.fail("Keel started"),
      (e: unknown) => e,
    );
    assert.ok(isKeelError(err, "invalid_config"), String(err));
    const list = err.details.list as string[];
    const has = (re: RegExp) =>
      assert.ok(
        list.some((p) => re.test(p)),
        `${re} in:\n${list.join("\n")}`,
      );
    has(/^PORT="http"/);
    has(/schedules\.typo: .*cron/);
    has(/sources\.stripe\.secrets\[0\].*STRIPE_SECRET_NOT_SET/);
    has(/CRON_SECRET_NOT_SET.*schedules\.nightly\.target\.headers\.Authorization/);
    assert.ok(!err.message.includes("value-x"));
  });

  test("a target header reading one of Keel's own variables stops the start, named with its field", async () => {
    const file = configFile({
      schedules: { leak: SCHEDULE_USING("KEEL_ADMIN_TOKEN") },
      sources: {
        forms: {
          provider: "bearer",
          secrets: ["${FORMS_TOKEN}"],
          routes: [{ target: { url: "https://crm.example.com/f", headers: { "X-Db": "${DATABASE_URL}" } } }],
        },
      },
    });
    const err = await loadStartConfig({ KEEL_CONFIG: file, FORMS_TOKEN: "a-forms-token-long-enough" }).then(
      () => assert.fail("accepted"),
      (e: unknown) => e,
    );
    assert.ok(isKeelError(err, "invalid_config"));
    const list = err.details.list as string[];
    assert.equal(list.length, 2, list.join("\n"));
    assert.match(
      list[0] as string,
      /schedules\.leak\.target\.headers\.Authorization: uses \$\{KEEL_ADMIN_TOKEN\}/,
    );
    assert.match(
      list[1] as string,
      /sources\.forms\.routes\.0\.target\.headers\.X-Db: uses \$\{DATABASE_URL\}/,
    );
  });
});

test("KEEL_TARGET_VARIABLES takes names and PREFIX_* patterns; entries naming Keel's own are refused", () => {
  assert.deepEqual(loadEnv({}).targetVariables, [], "none by default");
  assert.deepEqual(loadEnv({ KEEL_TARGET_VARIABLES: "CRON_SECRET, HOOK_*" }).targetVariables, [
    "CRON_SECRET",
    "HOOK_*",
  ]);
  for (const [value, message] of [
    ["KEEL_ADMIN_TOKEN", /Keel's own configuration/],
    ["HOOK_*,KEEL_*", /Keel's own configuration/],
    ["DATABASE_URL", /Keel's own configuration/],
    ["not-a-name", /variable names or PREFIX_\* patterns/],
  ] as const) {
    assert.throws(
      () => loadEnv({ KEEL_TARGET_VARIABLES: value }),
      (err: unknown) => isKeelError(err, "invalid_config") && message.test(err.message),
      value,
    );
  }
});

describe("an unset variable used by a config-file target", () => {
  test("is logged at start (names, never values) and shown on /health as a warn check", async () => {
    const file = configFile({
      schedules: { nightly: SCHEDULE_USING("CRON_SECRET_UNSET"), hourly: SCHEDULE_USING("HOURLY_SECRET") },
      sources: {
        forms: {
          provider: "bearer",
          secrets: ["${FORMS_TOKEN}"],
          routes: [
            { target: { url: "https://crm.example.com/f", headers: { AUTH: "${ROUTE_TOKEN_UNSET}" } } },
          ],
        },
      },
    });
    const { logger, lines } = memoryLogger();
    const keel = await startKeel({
      env: {
        DATABASE_URL: testDatabaseUrl(),
        KEEL_SCHEMA: freshSchema("cfgvars"),
        PORT: "0",
        KEEL_CONFIG: file,
        FORMS_TOKEN: "a-forms-token-long-enough",
        HOURLY_SECRET: "hourly-secret-value",
      },
      host: "127.0.0.1",
      logger,
    });
    try {
      const warning = lines.find((l) => l.level === "warn" && String(l.msg).startsWith("config:"));
      assert.ok(warning, "a warning at start");
      assert.deepEqual(warning.variables, ["CRON_SECRET_UNSET", "ROUTE_TOKEN_UNSET"]);
      assert.match(String(warning.msg), /schedules\.nightly\.target\.headers\.Authorization/);
      assert.match(String(warning.msg), /sources\.forms\.routes\.0\.target\.headers\.AUTH/);
      const health = await fetch(`http://127.0.0.1:${keel.port}/health`);
      assert.equal(health.status, 200, "a warning, not a failure");
      const body = (await health.json()) as {
        status: string;
        checks: Record<string, { status: string; observedValue: number; output?: string }[]>;
      };
      assert.equal(body.status, "warn");
      const [check] = body.checks["config:variables"] ?? [];
      assert.equal(check?.status, "warn");
      assert.equal(check?.observedValue, 2);
      assert.match(check?.output ?? "", /\$\{CRON_SECRET_UNSET\}.*\$\{ROUTE_TOKEN_UNSET\}/);
      const all = JSON.stringify(lines) + JSON.stringify(body);
      assert.ok(!all.includes("hourly-secret-value") && !all.includes("a-forms-token"), "no value shown");
      assert.equal((await fetch(`http://127.0.0.1:${keel.port}/health/ready`)).status, 200);
    } finally {
      await keel.stop();
    }
  });
});
