import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { KeelError } from "@keel/engine";
import { parse } from "yaml";
import { loadConfigFile } from "../src/config/file.js";
import { type ImportOptions, importCrons } from "../src/import/schedules.js";
import { runKeel, tempDir } from "./helpers.js";

// `keel import` as a real subprocess on fixture files; what it prints must load with Keel's own
// config loader, and `--write` must merge without losing what the file held.
const FIXTURES = fileURLToPath(new URL("./fixtures/import/", import.meta.url));
const work = tempDir("import");

const keel = (args: string[], env: Record<string, string> = {}) => runKeel(["import", ...args], env);

/** Writes `yaml` as a config file and loads it the way `keel start` does. */
async function load(yaml: string, name = "printed.yaml") {
  const file = join(work, name);
  writeFileSync(file, yaml);
  return (await loadConfigFile({ file })).config;
}

test("vercel.json: GET <APP_URL><path> with the Bearer CRON_SECRET Vercel sends, in UTC; it loads", async () => {
  const run = await keel([join(FIXTURES, "vercel.json")], { APP_URL: "https://crm.example.com/" });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^# Imported from vercel.json \(vercel\)/);
  assert.match(run.stdout, /Vercel reads cron expressions in UTC/);
  const config = await load(run.stdout);
  assert.deepEqual(config.schedules, {
    "maintenance-alerts": {
      cron: "0 6 * * *",
      timezone: "UTC",
      target: {
        url: "https://crm.example.com/api/cron/maintenance-alerts",
        method: "GET",
        headers: { Authorization: "Bearer ${CRON_SECRET}" },
      },
    },
    "retry-failed-emails": {
      cron: "*/15 * * * *",
      timezone: "UTC",
      target: {
        url: "https://crm.example.com/api/cron/retry-failed-emails?batch=50",
        method: "GET",
        headers: { Authorization: "Bearer ${CRON_SECRET}" },
      },
    },
    "maintenance-alerts-2": {
      cron: "0 18 * * 1-5",
      timezone: "UTC",
      target: {
        url: "https://crm.example.com/api/cron/maintenance-alerts",
        method: "GET",
        headers: { Authorization: "Bearer ${CRON_SECRET}" },
      },
    },
  });

  // --base-url wins over APP_URL; ${VAR} in it is read from the environment.
  const flag = await keel([join(FIXTURES, "vercel.json"), "--base-url", "${ORIGIN}/app", "--json"], {
    ORIGIN: "https://other.example.com",
    APP_URL: "https://crm.example.com",
  });
  assert.equal(flag.code, 0, flag.stderr);
  const json = JSON.parse(flag.stdout);
  assert.equal(json.baseUrl, "https://other.example.com/app");
  assert.equal(
    json.schedules["maintenance-alerts"].target.url,
    "https://other.example.com/app/api/cron/maintenance-alerts",
  );
});

test("render.yaml: each type: cron service becomes a handler schedule naming its command; --commands url", async () => {
  const run = await keel([join(FIXTURES, "render.yaml")]);
  assert.equal(run.code, 0, run.stderr);
  const config = await load(run.stdout);
  assert.deepEqual(config.schedules, {
    "nightly-backup": { cron: "0 3 * * *", timezone: "UTC", target: { handler: "nightly-backup" } },
    "invoice-chaser": { cron: "30 9 * * 1-5", timezone: "UTC", target: { handler: "invoice-chaser" } },
  });
  assert.match(
    run.stdout,
    /Render ran `node scripts\/backup\.js`; Keel runs no commands: register a handler 'nightly-backup'/,
  );

  const url = await keel([
    join(FIXTURES, "render.yaml"),
    "--commands",
    "url",
    "--base-url",
    "https://app.example.com",
  ]);
  assert.equal(url.code, 0, url.stderr);
  const schedules = (await load(url.stdout, "render-url.yaml")).schedules ?? {};
  assert.deepEqual(schedules["nightly-backup"]?.target, {
    url: "https://app.example.com/api/cron/nightly-backup",
    method: "GET",
    headers: { Authorization: "Bearer ${CRON_SECRET}" },
  });
});

test("crontab: curl lines become their requests, CRON_TZ applies to the lines after it, @daily, @reboot left out", async () => {
  const run = await keel([join(FIXTURES, "crontab")]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /line 8: @reboot has no schedule: left out/);
  const config = await load(run.stdout);
  assert.deepEqual(config.schedules, {
    cleanup: {
      cron: "15 3 * * *",
      timezone: "UTC",
      target: {
        url: "https://app.example.com/cron/cleanup",
        method: "GET",
        headers: { "X-Cron-Key": "${CLEANUP_CRON_KEY}" },
      },
    },
    "auto-chase": {
      cron: "0 9 * * 1-5",
      timezone: "Europe/Berlin",
      target: {
        url: "https://app.example.com/api/internal/cron/auto-chase",
        method: "POST",
        headers: { Authorization: "Bearer ${CRON_SECRET}" },
      },
    },
    "rotate-logs": { cron: "0 0 * * *", timezone: "Europe/Berlin", target: { handler: "rotate-logs" } },
    sync: { cron: "*/10 * * * *", timezone: "Europe/Berlin", target: { handler: "sync" } },
  });
});

test("bad input: an invalid_import envelope naming the entry, exit 2", async () => {
  const cli: [string[], RegExp][] = [
    [
      ["vercel-bad-cron.json", "--base-url", "https://a.example"],
      /crons\[0\]: cron: '61 \* \* \* \*' is not a valid cron expression/,
    ],
    [["vercel.json"], /need your app's base URL: set APP_URL or pass --base-url/],
    [["crontab-short"], /line 1: expected five time fields and a command/],
  ];
  for (const [[file, ...flags], message] of cli) {
    const run = await keel([join(FIXTURES, file as string), ...flags, "--json"]);
    assert.equal(run.code, 2, `${file}: ${run.stderr}`);
    assert.equal(run.stdout, "");
    const { error } = JSON.parse(run.stderr);
    assert.equal(error.code, "invalid_import", file);
    assert.match(error.message, message, file);
  }
  const text = await keel([join(FIXTURES, "crontab-short")]);
  assert.equal(text.code, 2);
  assert.match(text.stderr, /^error: Cannot import .*crontab-short: line 1:/);

  // The same errors from the function the command calls, for the other inputs.
  const direct: [string, ImportOptions, RegExp][] = [
    ["vercel-broken.txt", { format: "vercel", baseUrl: "https://a.example" }, /not valid JSON/],
    ["vercel.json", { baseUrl: "ftp://a.example" }, /is not an absolute http\(s\) URL/],
    ["render-no-command.yaml", {}, /services\[0\] \(sync\): a cron job needs a startCommand/],
    ["crontab-bad-tz", {}, /line 2: timezone: 'Mars\/Olympus' is not an IANA time zone/],
    ["render.yaml", { format: "vercel" }, /not valid JSON/],
    ["crontab", { format: "render" }, /not valid YAML: Implicit keys/],
    ["vercel.json", { format: "render" }, /no services list/],
    ["does-not-exist.json", {}, /cannot be read \(ENOENT\)/],
  ];
  for (const [file, options, message] of direct) {
    assert.throws(
      () => importCrons(join(FIXTURES, file), { env: {}, ...options }),
      (err: KeelError) => err.code === "invalid_import" && message.test(err.message),
      file,
    );
  }
});

test("--write merges into a YAML config, keeps its comments, refuses a same-name schedule without --force", async () => {
  const file = join(work, "keel.config.yaml");
  const before = [
    "# Our Keel config",
    "queues:",
    "  email: { concurrency: 10 }",
    "schedules:",
    "  # kept as it is",
    "  cleanup:",
    '    cron: "0 1 * * *"',
    "    target: { handler: old-cleanup }",
    "",
  ].join("\n");
  writeFileSync(file, before);
  const refused = await keel([join(FIXTURES, "crontab"), "--write", file, "--json"]);
  assert.equal(refused.code, 4, refused.stderr);
  assert.equal(JSON.parse(refused.stderr).error.code, "schedule_exists");
  assert.match(
    JSON.parse(refused.stderr).error.message,
    /keel\.config\.yaml already declares 'cleanup'\. Pass --force/,
  );
  assert.equal(readFileSync(file, "utf8"), before, "nothing written");

  const forced = await keel([join(FIXTURES, "crontab"), "--write", file, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /added to .*keel\.config\.yaml: auto-chase, rotate-logs, sync/);
  assert.match(forced.stdout, /replaced in .*keel\.config\.yaml: cleanup/);
  const after = readFileSync(file, "utf8");
  assert.match(after, /^# Our Keel config/);
  assert.match(after, /# from line 6/);
  const { config } = await loadConfigFile({ file });
  assert.deepEqual(config.queues, { email: { concurrency: 10 } });
  assert.deepEqual(Object.keys(config.schedules ?? {}), ["cleanup", "auto-chase", "rotate-logs", "sync"]);
  assert.equal(config.schedules?.cleanup?.timezone, "UTC");
});

test("--write creates or merges a JSON config; a JS config is refused", async () => {
  const file = join(work, "keel.config.json");
  const created = await keel([join(FIXTURES, "render.yaml"), "--write", file, "--json"]);
  assert.equal(created.code, 0, created.stderr);
  assert.deepEqual(JSON.parse(created.stdout).added, ["nightly-backup", "invoice-chaser"]);
  const vercel = await keel([join(FIXTURES, "vercel.json"), "--write", file], {
    APP_URL: "https://crm.example.com",
  });
  assert.equal(vercel.code, 0, vercel.stderr);
  const { config } = await loadConfigFile({ file });
  assert.equal(Object.keys(config.schedules ?? {}).length, 5);
  assert.equal(
    parse(readFileSync(file, "utf8")).schedules["nightly-backup"].target.handler,
    "nightly-backup",
  );

  const js = join(work, "keel.config.mjs");
  copyFileSync(file, js);
  const refused = await keel([join(FIXTURES, "render.yaml"), "--write", js, "--json"]);
  assert.equal(refused.code, 2);
  assert.match(
    JSON.parse(refused.stderr).error.message,
    /only YAML and JSON config files can be merged into/,
  );
});
