import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import pg from "pg";
import { deadJobs, guardLeaks, testDatabaseUrl, testEngine, waitFor } from "../../engine/test/helpers.js";
import type { DoctorReport } from "../src/doctor/types.js";
import { get, type KeelProcess, logLine, runKeel, spawnKeel, tempDir } from "./helpers.js";
import { PLACEHOLDERS, type RunbookCommand, readRunbook } from "./runbook-parser.js";

// Every command of every runbook (docs/runbooks/*.md) run against a real Keel: a `keel start`
// on a fresh schema of the test Postgres, with the queue, schedule and sources the runbooks
// name, and loopback servers standing in for the application. A renamed command or flag makes
// the runbook fail here, not at 3 a.m.

guardLeaks();

const ROOT = new URL("../../../", import.meta.url).pathname;
const DIR = join(ROOT, "docs/runbooks");
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith(".md") && f !== "README.md")
  .sort();
const QUEUE = "emails";
const SCHEDULE = "nightly-report";
const STRIPE_SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const REVENUECAT_AUTH = `Bearer ${randomBytes(24).toString("hex")}`;

test("every runbook is linked from the index, has its sections, and only known placeholders", () => {
  assert.ok(FILES.length >= 8, `runbooks found: ${FILES.join(", ")}`);
  const index = readFileSync(join(DIR, "README.md"), "utf8");
  for (const file of FILES) {
    assert.ok(index.includes(`](${file})`), `docs/runbooks/README.md links ${file}`);
    const runbook = readRunbook(join(DIR, file));
    assert.deepEqual(runbook.problems, [], file);
    assert.ok(
      runbook.commands.some((c) => c.run),
      `${file} shows at least one keel command that runs`,
    );
  }
  for (const placeholder of PLACEHOLDERS) {
    assert.ok(index.includes(`| \`${placeholder}\` |`), `docs/runbooks/README.md explains ${placeholder}`);
  }
  for (const file of ["README.md", ...FILES]) {
    for (const problem of brokenLinks(join(DIR, file))) assert.fail(`${file}: ${problem}`);
  }
  for (const doc of ["README.md", "docs/doctor.md"]) {
    assert.match(
      readFileSync(join(ROOT, doc), "utf8"),
      /runbooks\/(README\.md)?\)/,
      `${doc} links the runbooks`,
    );
  }
});

/** A loopback application: `/health` 200, the cron endpoint 500 (a failing schedule), the rest 200. */
async function application(): Promise<string> {
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith("/api/cron/")) res.writeHead(500).end("report generator crashed");
    else res.writeHead(200).end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An empty database for `keel backup restore … --to`, dropped when the file ends. */
async function scratchDatabase(): Promise<string> {
  const name = `runbook_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  after(async () => {
    const client = new pg.Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    await client.query(`drop database if exists "${name}" with (force)`);
    await client.end();
  });
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function waitReady(keel: KeelProcess): Promise<number> {
  const started = await waitFor(
    () => logLine(keel, "keel started") ?? (keel.child.exitCode !== null ? "exited" : undefined),
    60_000,
    "keel started",
  );
  assert.ok(started !== undefined && started !== "exited", keel.other.join("\n"));
  const port = started.port as number;
  await waitFor(
    async () => (await get(`http://127.0.0.1:${port}/health/ready`))?.status === 200,
    10_000,
    "ready",
  );
  return port;
}

function stripeSigned(body: string): Record<string, string> {
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", STRIPE_SECRET).update(`${t}.${body}`).digest("hex");
  return { "content-type": "application/json", "stripe-signature": `t=${t},v1=${v1}` };
}

describe("the runbooks' commands against a running Keel", async () => {
  const engine = await testEngine();
  const app = await application();
  const dir = tempDir("runbooks");
  const config = join(dir, "keel.config.json");
  writeFileSync(
    config,
    JSON.stringify({
      queues: { [QUEUE]: { maxAttempts: 3 } },
      schedules: {
        [SCHEDULE]: {
          cron: "0 3 * * *",
          timezone: "Europe/London",
          target: { url: `${app}/api/cron/${SCHEDULE}`, headers: { Authorization: "Bearer ${CRON_SECRET}" } },
        },
      },
      sources: {
        stripe: {
          provider: "stripe",
          secrets: ["${STRIPE_WEBHOOK_SECRET}"],
          routes: [{ events: ["*"], target: { url: `${app}/api/webhooks/stripe` } }],
        },
        revenuecat: {
          provider: "revenuecat",
          secrets: ["${REVENUECAT_WEBHOOK_AUTH}"],
          routes: [{ events: ["*"], target: { url: `${app}/api/webhooks/revenuecat` } }],
        },
      },
      backups: { what: { keel: true }, dir: join(dir, "backups") },
      doctor: { appHealth: "${APP_URL}/health" },
    }),
  );
  const env = {
    DATABASE_URL: testDatabaseUrl(),
    KEEL_SCHEMA: engine.schema,
    KEEL_CONFIG: config,
    CRON_SECRET: randomBytes(24).toString("hex"),
    STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
    REVENUECAT_WEBHOOK_AUTH: REVENUECAT_AUTH,
    APP_URL: app,
  };
  const keel = spawnKeel(["start"], { ...env, PORT: "0" });
  after(async () => {
    keel.child.kill("SIGTERM");
    await keel.exited;
  });
  const port = await waitReady(keel);
  const origin = `http://127.0.0.1:${port}`;

  // Webhooks: one accepted Stripe event, and refusals for both sources (rejections to read).
  const body = JSON.stringify({
    id: `evt_${randomBytes(6).toString("hex")}`,
    type: "invoice.paid",
    data: {},
  });
  const accepted = await fetch(`${origin}/in/stripe`, { method: "POST", headers: stripeSigned(body), body });
  assert.equal(accepted.status, 200, await accepted.clone().text());
  const eventId = String(((await accepted.json()) as { id: string | number }).id);
  const forged = await fetch(`${origin}/in/stripe`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": "t=1,v1=00" },
    body,
  });
  assert.equal(forged.status, 401);
  const wrongAuth = await fetch(`${origin}/in/revenuecat`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer wrong" },
    body: JSON.stringify({ event: { id: "rc_1", type: "RENEWAL" } }),
  });
  assert.equal(wrongAuth.status, 401);

  // A token to replace, a backup to restore, an empty database to restore it into.
  const token = await runKeel(
    ["tokens", "create", "--name", "billing-app", "--scope", "publish", "--json"],
    env,
  );
  assert.equal(token.code, 0, token.stderr);
  const backup = await runKeel(["backup", "now", "--target", "keel", "--json"], env);
  assert.equal(backup.code, 0, backup.stderr);
  const backupId = String(
    (JSON.parse(backup.stdout) as { backups: { id: string | number }[] }).backups[0]?.id,
  );

  const fixed: Record<string, string> = {
    "<queue>": QUEUE,
    "<schedule>": SCHEDULE,
    "<event-id>": eventId,
    "<token-id>": String((JSON.parse(token.stdout) as { id: string | number }).id),
    "<backup-id>": backupId,
    "<scratch-database-url>": await scratchDatabase(),
    "<since>": new Date(Date.now() - 3_600_000).toISOString(),
  };

  /** Each runbook starts from the same state: the queue running, a fresh dead job to look at. */
  async function placeholders(): Promise<Record<string, string>> {
    await engine.resumeQueue(QUEUE);
    await engine.switches.set(`process:${QUEUE}`, true, { by: "test" });
    const [jobId] = await deadJobs(engine, QUEUE, 1, { handler: "sendWelcome" });
    assert.ok(jobId, "a dead job to show");
    return { ...fixed, "<job-id>": jobId };
  }

  for (const file of FILES) {
    test(`${file}: every keel command runs and exits as documented`, async () => {
      const { commands } = readRunbook(join(DIR, file));
      const values = await placeholders();
      for (const command of commands.filter((c): c is RunbookCommand & { run: true } => c.run)) {
        const argv = command.argv(values);
        const run = await runKeel(argv, env);
        assert.ok(
          command.exits.includes(run.code ?? -1),
          `${file}:${command.line}: \`${command.text}\` exited ${run.code}, expected ${command.exits.join(" or ")}\n${run.stderr}`,
        );
      }
    });
  }

  test("the metrics, doctor checks and console views the runbooks name exist", async () => {
    const doctor = await runKeel(["doctor", "--json"], env);
    const ids = new Set((JSON.parse(doctor.stdout) as DoctorReport).checks.map((c) => c.id));
    const metrics = await (await fetch(`${origin}/metrics`)).text();
    const views = new Set(
      [...readFileSync(join(ROOT, "docs/console.md"), "utf8").matchAll(/^\*\*([A-Z][A-Za-z ]+)\*\*/gm)].map(
        (m) => m[1],
      ),
    );
    for (const file of FILES) {
      const { names } = readRunbook(join(DIR, file));
      for (const metric of names.metrics) {
        assert.match(metrics, new RegExp(`^# TYPE ${metric} `, "m"), `${file}: metric ${metric} is exported`);
      }
      for (const id of names.checks) {
        const concrete = id.replace("<schedule>", SCHEDULE);
        assert.ok(ids.has(concrete), `${file}: doctor check ${id} is in the report (${[...ids].join(", ")})`);
      }
      for (const view of names.views)
        assert.ok(views.has(view), `${file}: console view ${view} is in console.md`);
    }
  });

  test("a bogus subcommand or flag fails the check, so the runbooks cannot rot", async () => {
    for (const text of ["keel queues lsit", "keel queues list --bogus", "keel doctor --no-probe"]) {
      const [command] = readRunbookText(
        `## Signal\n## First commands\n\`\`\`sh\n${text}\n\`\`\`\n## Do\n## Don't\n`,
      );
      assert.ok(command?.run);
      const run = await runKeel(command.argv({}), env);
      assert.ok(
        !command.exits.includes(run.code ?? -1),
        `${text} exited ${run.code}, which the test would accept`,
      );
    }
  });
});

/** Relative links whose file, or whose #anchor among the file's headings, does not exist. */
function brokenLinks(path: string): string[] {
  const problems: string[] = [];
  for (const [, target] of readFileSync(path, "utf8").matchAll(/\]\(([^)\s]+)\)/g)) {
    if (!target || /^[a-z]+:/.test(target)) continue;
    const [file = "", anchor] = target.split("#");
    const resolved = file ? join(dirname(path), file) : path;
    if (!existsSync(resolved)) {
      problems.push(`links ${target}, which does not exist`);
      continue;
    }
    if (!anchor || !resolved.endsWith(".md")) continue;
    const slugs = [...readFileSync(resolved, "utf8").matchAll(/^#+ (.+)$/gm)].map((m) =>
      (m[1] as string)
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, "")
        .replace(/ /g, "-"),
    );
    if (!slugs.includes(anchor)) problems.push(`links ${target}: no heading makes #${anchor}`);
  }
  return problems;
}

function readRunbookText(text: string): RunbookCommand[] {
  const path = join(tempDir("runbook-text"), "bogus.md");
  writeFileSync(path, text);
  return readRunbook(path).commands;
}
