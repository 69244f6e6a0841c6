import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Engine, isKeelError } from "@keel/engine";
import { freshSchema, onCleanup, testDatabaseUrl } from "../../engine/test/helpers.js";
import { isSigningSecret, loadEnv } from "../src/config/env.js";
import { loadConfigFile } from "../src/config/file.js";
import { syncQueues } from "../src/runtime/config-sync.js";
import { printGeneratedToken, resolveSecrets } from "../src/runtime/secrets.js";
import { guardServerLeaks, tempDir } from "./helpers.js";

guardServerLeaks();
const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("cfgsync"),
});
onCleanup(() => engine.close());

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(isKeelError(err, "invalid_config"), String(err));
    return err.details.list as string[];
  }
  return assert.fail("expected invalid_config");
}

describe("production secrets", () => {
  const strong = "x".repeat(40);
  const secret = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;

  test("every missing or weak secret is listed at once, with how to fix it, never echoing a value", () => {
    const list = problems(() =>
      loadEnv({
        NODE_ENV: "production",
        DATABASE_URL: "postgres://u:pw@db/app",
        KEEL_ADMIN_TOKEN: "short-but-secret",
      }),
    );
    assert.equal(list.length, 3, list.join("\n"));
    assert.match(list.join("\n"), /KEEL_ADMIN_TOKEN is too weak \(16 characters\): use at least 32/);
    assert.match(
      list.join("\n"),
      /KEEL_METRICS_TOKEN is required when NODE_ENV=production; generate one with/,
    );
    assert.match(list.join("\n"), /KEEL_SIGNING_SECRET is required/);
    assert.doesNotMatch(list.join("\n"), /short-but-secret/);
  });

  test("production: the console is off without a way in, and a weak console password is refused", () => {
    const base = {
      NODE_ENV: "production",
      DATABASE_URL: "postgres://u:pw@db/app",
      KEEL_ADMIN_TOKEN: strong,
      KEEL_METRICS_TOKEN: strong,
      KEEL_SIGNING_SECRET: secret,
    };
    assert.deepEqual(loadEnv(base).console, { enabled: false, tokens: false, password: undefined });
    assert.deepEqual(loadEnv({ ...base, KEEL_CONSOLE: "on" }).console, {
      enabled: true,
      tokens: true,
      password: undefined,
    });
    assert.deepEqual(loadEnv({ ...base, KEEL_CONSOLE_PASSWORD: strong }).console, {
      enabled: true,
      tokens: false,
      password: strong,
    });
    const list = problems(() => loadEnv({ ...base, KEEL_CONSOLE_PASSWORD: "hunter2-hunter2" }));
    assert.match(list.join("\n"), /KEEL_CONSOLE_PASSWORD is too weak \(15 characters\): use at least 32/);
    assert.doesNotMatch(list.join("\n"), /hunter2/);
    assert.equal(loadEnv({ KEEL_CONSOLE: "off" }).console.enabled, false);
  });

  test("a malformed signing secret is refused without echoing it", () => {
    const list = problems(() => loadEnv({ KEEL_SIGNING_SECRET: "not-a-whsec-value" }));
    assert.match(list[0] ?? "", /^KEEL_SIGNING_SECRET must be one or more whsec_/);
    assert.doesNotMatch(list.join(), /not-a-whsec-value/);
    assert.equal(
      isSigningSecret(`whsec_${Buffer.alloc(8).toString("base64")}`),
      false,
      "64 bits is too weak",
    );
  });

  test("a complete production environment loads, with rotation secrets in order", () => {
    const env = loadEnv({
      NODE_ENV: "production",
      DATABASE_URL: "postgres://u:pw@db/app",
      KEEL_ADMIN_TOKEN: strong,
      KEEL_METRICS_TOKEN: strong,
      KEEL_SIGNING_SECRET: `${secret} whsec_${Buffer.alloc(24, 9).toString("base64")}`,
      KEEL_TARGET_ALLOWLIST: "hooks.internal.example, 10.20.0.0/16",
    });
    assert.equal(env.signingSecrets?.length, 2);
    assert.equal(env.signingSecrets?.[0], secret);
    assert.deepEqual(env.targetAllowlist, ["hooks.internal.example", "10.20.0.0/16"]);
  });
});

describe("config file", () => {
  test("YAML queues load; JSON and JS modules too", async () => {
    const dir = tempDir("cfg");
    writeFileSync(join(dir, "keel.config.yaml"), "queues:\n  email: { concurrency: 10, maxAttempts: 8 }\n");
    const { config, path } = await loadConfigFile({ cwd: dir });
    assert.equal(path, join(dir, "keel.config.yaml"));
    assert.deepEqual(config.queues, { email: { concurrency: 10, maxAttempts: 8 } });
    writeFileSync(join(dir, "other.json"), JSON.stringify({ queues: { pdf: { tenantConcurrency: 2 } } }));
    assert.deepEqual((await loadConfigFile({ cwd: dir, file: "other.json" })).config.queues, {
      pdf: { tenantConcurrency: 2 },
    });
    writeFileSync(join(dir, "mod.mjs"), "export default { queues: { sync: { maxAttempts: 3 } } };");
    assert.deepEqual((await loadConfigFile({ cwd: dir, file: "mod.mjs" })).config.queues, {
      sync: { maxAttempts: 3 },
    });
  });

  test("no file is an empty config; every problem is named with its path", async () => {
    assert.deepEqual(await loadConfigFile({ cwd: tempDir("empty") }), { config: {}, path: undefined });
    const dir = tempDir("bad");
    writeFileSync(
      join(dir, "keel.config.yaml"),
      "queues:\n  email: { concurency: 10 }\n  bad name: {}\n  pdf: { maxAttempts: 0 }\n" +
        'schedules:\n  x: {}\n  nightly: { cron: "0 25 * * *", target: { handler: h } }\n' +
        '  zoned: { cron: "0 6 * * *", timezone: Mars/Base, target: { handler: h } }\n' +
        "  nowhere: { cron: '0 6 * * *', target: { url: 'ftp://x' } }\n",
    );
    const err = await loadConfigFile({ cwd: dir }).catch((e: unknown) => e);
    assert.ok(isKeelError(err, "invalid_config"));
    const list = (err.details.list as string[]).join("\n");
    assert.match(list, /queues\.email: unknown key concurency/);
    assert.match(list, /queues\.bad name: queue names use letters/);
    assert.match(list, /queues\.pdf\.maxAttempts/);
    assert.match(list, /schedules\.x: invalid_schedule: Schedule 'x': cron: required/);
    assert.match(list, /schedules\.nightly: invalid_cron: cron: '0 25 \* \* \*'/);
    assert.match(list, /schedules\.zoned: invalid_timezone: timezone: 'Mars\/Base'/);
    assert.match(list, /schedules\.nowhere: invalid_target: .*target\.url/);
    await assert.rejects(loadConfigFile({ cwd: dir, file: "missing.yaml" }), /does not exist/);
  });
});

describe("start-up state", () => {
  test("syncing queues twice changes nothing and keeps a pause", async () => {
    const config = { queues: { email: { concurrency: 10, maxAttempts: 8 } } };
    await syncQueues(engine, config);
    await engine.pauseQueue("email");
    await syncQueues(engine, config);
    const q = (await engine.listQueues()).find((x) => x.name === "email");
    assert.equal(q?.concurrency, 10);
    assert.equal(q?.maxAttempts, 8);
    assert.equal(q?.paused, true);
  });

  test("development generates one signing secret and one admin token, shown once", async () => {
    const env = loadEnv({ DATABASE_URL: testDatabaseUrl() });
    const first = await resolveSecrets(engine, env);
    const second = await resolveSecrets(engine, env);
    assert.ok(first.signingSecrets[0] && isSigningSecret(first.signingSecrets[0]));
    assert.deepEqual(
      second.signingSecrets,
      first.signingSecrets,
      "the same secret on every start and replica",
    );
    assert.match(first.generatedAdminToken ?? "", /^keel_/);
    assert.equal(second.generatedAdminToken, undefined, "printed only by the start that created it");
    const info = await engine.tokens.verify(first.generatedAdminToken as string);
    assert.deepEqual(info?.scopes, ["admin"]);
    let printed = "";
    printGeneratedToken(first.generatedAdminToken as string, 7070, (s) => {
      printed += s;
    });
    assert.match(printed, /shown only this once/);
  });
});
