import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  failForGood,
  freshSchema,
  guardLeaks,
  deadJobs as sharedDeadJobs,
  testDatabaseUrl,
  testEngine,
  waitFor,
} from "../../engine/test/helpers.js";
import {
  type CliRun,
  cliBaseEnv,
  closedPort,
  logLine,
  postgresPidsFor,
  runKeel,
  spawnKeel,
  tempDir,
} from "./helpers.js";

// Operator commands run as a real `keel` subprocess against a schema this file migrates.

guardLeaks();

const ROOT = new URL("../../../", import.meta.url).pathname;
const BIN = join(ROOT, "packages/server/src/bin/keel.ts");
const ESC = "\u001b";
const ACTOR = `cli:${userInfo().username}@${hostname()}`;
const engine = await testEngine();
const DB = { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: engine.schema };

type Run = CliRun;

/** Runs `keel …` with exactly the given Keel variables; stdout and stderr are pipes, not a TTY. */
function keel(args: string[], env: Record<string, string> = DB): Promise<Run> {
  return runKeel(args, env);
}

function json(run: Run): Record<string, unknown> {
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** Asserts an exit code, an `error: …` message on stderr, nothing on stdout, and no stack. */
function failed(run: Run, code: number, message: RegExp): void {
  assert.equal(run.code, code, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
  assert.match(run.stderr, message);
  assert.equal(run.stdout, "");
  assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
}

async function auditRows(action: string, target: string) {
  return (await engine.auditLog.list({ limit: 1000 })).filter(
    (a) => a.action === action && a.target === target,
  );
}

// Dead jobs whose error holds a terminal escape: human output must neutralise it.
const CLI_DEATH = { handler: "work", error: { code: "E_TEST", message: `boom ${ESC}[2J` } };

/** `n` jobs of `queue` that died on their only attempt. */
function deadJobs(queue: string, n: number, extra: { dedupeKey?: string } = {}): Promise<string[]> {
  return sharedDeadJobs(engine, queue, n, { ...CLI_DEATH, payload: (i) => ({ i }), ...extra });
}

describe("keel queues", () => {
  test("list, pause and resume with human and JSON output, audit rows; an unknown queue exits 3", async () => {
    await engine.enqueueMany([
      { queue: "mail", target: { handler: "work" } },
      { queue: "mail", target: { handler: "work" } },
    ]);
    const [human, asJson, missing, missingJson, retryMissing] = await Promise.all([
      keel(["queues", "list"]),
      keel(["queues", "list", "--json"]),
      keel(["queues", "pause", "nope"]),
      keel(["queues", "pause", "nope", "--json"]),
      keel(["queues", "retry-dead", "nope"]),
    ]);
    assert.equal(human.code, 0, human.stderr);
    const [header, row] = human.stdout.split("\n");
    assert.match(
      header ?? "",
      /^NAME\s+STATE\s+SCHEDULED\s+AVAILABLE\s+RUNNING\s+SUCCEEDED\s+DEAD\s+CANCELLED/,
    );
    assert.match(row ?? "", /^mail\s+active\s+0\s+2\s+0\s+0\s+0\s+0/);
    // Columns line up: every row starts its STATE column where the header does.
    assert.equal(row?.indexOf("active"), header?.indexOf("STATE"));
    const queues = json(asJson).queues as { name: string; paused: boolean; counts: { available: number } }[];
    assert.deepEqual(
      queues.map((q) => [q.name, q.paused, q.counts.available]),
      [["mail", false, 2]],
    );
    failed(missing, 3, /^error: Queue 'nope' does not exist\./);
    assert.equal(missingJson.code, 3);
    assert.deepEqual(JSON.parse(missingJson.stderr).error.code, "queue_not_found");
    failed(retryMissing, 3, /Queue 'nope' does not exist/);

    const paused = await keel(["queues", "pause", "mail"]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /^Queue mail paused: running jobs finish/);
    assert.equal((await engine.queueLimits(["mail"])).get("mail")?.paused, true);
    const resumed = json(await keel(["queues", "resume", "mail", "--json"]));
    assert.deepEqual(resumed, { queue: "mail", paused: false, wasPaused: true });
    assert.equal((await engine.queueLimits(["mail"])).get("mail")?.paused, false);

    const [pause] = await auditRows("queue.pause", "queue:mail");
    assert.equal(pause?.actor, ACTOR);
    assert.equal(pause?.source, hostname());
    assert.deepEqual(pause?.details, { wasPaused: false });
    assert.equal((await auditRows("queue.resume", "queue:mail")).length, 1);
  });

  test("retry-dead retries every dead job, prints no progress bar off a terminal, and is audited", async () => {
    await deadJobs("bulk", 1500);
    const plain = await keel(["queues", "retry-dead", "bulk"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, "Retried 1500 dead jobs of queue bulk.\n");
    assert.equal(plain.stderr, "", "no progress bar when stdout is not a TTY");
    const bulk = (await engine.listQueues()).find((q) => q.name === "bulk");
    assert.equal(bulk?.counts.dead, 0);
    assert.equal(bulk?.counts.available, 1500);

    await failForGood(engine, "bulk", 1500, CLI_DEATH);
    const asJson = await keel(["queues", "retry-dead", "bulk", "--json"]);
    assert.deepEqual(json(asJson), { queue: "bulk", retried: 1500, stillDead: 0 });
    assert.equal(asJson.stderr, "");

    const audits = await auditRows("queue.retry_dead", "queue:bulk");
    assert.deepEqual(
      audits.map((a) => [a.actor, a.details]),
      [
        [ACTOR, { retried: 1500 }],
        [ACTOR, { retried: 1500 }],
      ],
    );
  });

  test("purge-dead deletes every dead job of the queue, audited", async () => {
    await deadJobs("purge", 25);
    const run = await keel(["queues", "purge-dead", "purge", "--json"]);
    assert.deepEqual(json(run), { queue: "purge", purged: 25 });
    assert.equal((await engine.listQueues()).find((q) => q.name === "purge")?.counts.dead, 0);
    assert.deepEqual(
      (await auditRows("queue.purge_dead", "queue:purge")).map((a) => a.details),
      [{ purged: 25 }],
    );
    failed(await keel(["queues", "purge-dead", "nope"]), 3, /Queue 'nope' does not exist/);
  });

  test("failures lists groups by fingerprint; retry-dead --fingerprint --dry-run counts, then retries only that group", async () => {
    await sharedDeadJobs(engine, "groups", 3, {
      handler: "work",
      error: { code: "E_CONN", message: "refused 10.0.0.1" },
    });
    await sharedDeadJobs(engine, "groups", 2, {
      handler: "work",
      error: { code: "E_OTHER", message: "nope" },
    });
    const listed = json(await keel(["queues", "failures", "--queue", "groups", "--json"])) as {
      failures: { fingerprint: string; shape: string; counts: { lastWeek: number } }[];
    };
    const conn = listed.failures.find((g) => g.shape === "E_CONN: refused <n>.<n>.<n>.<n>");
    assert.equal(conn?.counts.lastWeek, 3);
    const fp = conn?.fingerprint as string;
    const human = await keel(["queues", "failures", "--queue", "groups"]);
    assert.match(human.stdout, new RegExp(`^groups\\s+${fp}\\s+3\\s+3\\s+3\\s+E_CONN: refused`, "m"));
    assert.deepEqual(
      json(await keel(["queues", "retry-dead", "groups", "--fingerprint", fp, "--dry-run", "--json"])),
      {
        queue: "groups",
        dryRun: true,
        matching: 3,
      },
    );
    assert.deepEqual(json(await keel(["queues", "retry-dead", "groups", "--fingerprint", fp, "--json"])), {
      queue: "groups",
      retried: 3,
      stillDead: 0,
    });
    assert.equal((await engine.listQueues()).find((q) => q.name === "groups")?.counts.dead, 2);
    assert.deepEqual(
      (await auditRows("queue.retry_dead", "queue:groups")).map((a) => a.details),
      [{ retried: 3, filter: { fingerprint: fp } }],
    );
    const purge = await keel([
      "queues",
      "purge-dead",
      "groups",
      "--error-code",
      "E_OTHER",
      "--older-than",
      "1d",
      "--json",
    ]);
    assert.deepEqual(json(purge), { queue: "groups", purged: 0 });
    failed(await keel(["queues", "retry-dead", "groups", "--fingerprint", "xyz"]), 2, /12 hex digits/);
    failed(await keel(["queues", "retry-dead", "groups", "--older-than", "soon"]), 2, /90s, 30m/);
  });

  const hasScript = process.platform === "linux" && spawnSync("script", ["--version"]).status === 0;
  test("retry-dead draws a progress bar on a terminal", {
    skip: !hasScript && "needs util-linux script",
  }, async () => {
    await deadJobs("tty", 1500);
    // `script` runs the command on a pseudo-terminal and copies what it prints.
    const command = [process.execPath, "--import", "tsx", BIN, "queues", "retry-dead", "tty"]
      .map((a) => `'${a}'`)
      .join(" ");
    const run = await new Promise<Run>((resolve) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], {
        cwd: ROOT,
        env: { ...cliBaseEnv(), ...DB },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString("utf8");
      });
      child.on("close", (code) => resolve({ code, stdout, stderr: "" }));
    });
    assert.equal(run.code, 0, run.stdout);
    // Each redraw returns to the line start and clears it (CR, ESC [K).
    const redraws = run.stdout.split(`\r${ESC}[K`).slice(1);
    assert.match(redraws.join("\n"), /^retrying dead jobs of tty \[[█░]+\] 1000\/1500 {2}66%$/m);
    assert.match(run.stdout, /1500\/1500 100%/);
    assert.match(redraws.at(-1) ?? "", /^Retried 1500 dead jobs of queue tty\./);
  });
});

describe("keel jobs", () => {
  test("get and list, human and JSON, with cursor pages; unknown ids exit 3, bad flags exit 2", async () => {
    const [deadId] = await deadJobs("pages", 1);
    const { id: liveId } = await engine.enqueue({
      queue: "pages",
      target: { url: "https://example.com/hook", headers: { Authorization: "Bearer s3cret" } },
      payload: { note: `red ${ESC}[31m text` },
    });
    const [human, asJson, missing, notAnId, page1] = await Promise.all([
      keel(["jobs", "get", String(deadId)]),
      keel(["jobs", "get", String(deadId), "--json"]),
      keel(["jobs", "get", "999999999"]),
      keel(["jobs", "get", "abc"]),
      keel(["jobs", "list", "--queue", "pages", "--limit", "1", "--json"]),
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`^id: +${deadId}\nqueue: +pages\nstate: +dead\n`));
    // An escape sequence in a job's error is shown escaped, never sent to the terminal.
    assert.match(human.stdout, /last error: +E_TEST: boom \\u001b\[2J\n/);
    assert.ok(!human.stdout.includes(ESC));
    assert.match(human.stdout, /\n#\s+OUTCOME\s+STARTED\s+TOOK\s+WORKER\s+STATUS\s+ERROR\n1\s+failed\s+/);
    const job = json(asJson);
    assert.equal(job.state, "dead");
    assert.deepEqual(
      (job.attempts as { attempt: number; outcome: string; workerId: string }[]).map((a) => [
        a.attempt,
        a.outcome,
        a.workerId,
      ]),
      [[1, "failed", "test-worker"]],
    );
    failed(missing, 3, /^error: Job 999999999 does not exist/);
    failed(notAnId, 3, /Job abc does not exist/);

    const first = json(page1) as { jobs: { id: string }[]; nextCursor: string };
    assert.deepEqual(
      first.jobs.map((j) => j.id),
      [liveId],
    );
    assert.equal(first.nextCursor, liveId);
    const [page2, list, liveHuman, deadHuman] = await Promise.all([
      keel(["jobs", "list", "--queue", "pages", "--limit", "1", "--cursor", first.nextCursor, "--json"]),
      keel(["jobs", "list", "--queue", "pages", "--state", "available"]),
      keel(["jobs", "get", liveId]),
      keel(["jobs", "list", "--queue", "pages", "--state", "dead", "--limit", "1"]),
    ]);
    // A queue's dead jobs are in finish order: the next page's command keeps the filters, and
    // its cursor carries the finish time.
    assert.match(
      deadHuman.stdout,
      new RegExp(
        `Next page: keel jobs list --queue pages --state dead --limit 1 --cursor [0-9]+_${deadId}\\n$`,
      ),
    );
    const second = json(page2) as { jobs: { id: string }[]; nextCursor: string | null };
    assert.deepEqual(
      second.jobs.map((j) => j.id),
      [deadId],
    );
    assert.equal(second.nextCursor, deadId, "a full page points at the next one");
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^\s*ID\s+QUEUE\s+STATE\s+ATTEMPTS\s+TARGET/);
    assert.match(
      lines[1] ?? "",
      new RegExp(`^\\s*${liveId}\\s+pages\\s+available\\s+0/10\\s+POST https://example.com/hook`),
    );
    assert.equal(lines.length, 2);
    // Header values are not printed, only their names; escape sequences from payloads are defused.
    assert.doesNotMatch(list.stdout + liveHuman.stdout, /s3cret/);
    assert.match(liveHuman.stdout, /headers: Authorization/);
    assert.ok(!liveHuman.stdout.includes(ESC), "no raw escape character reaches the terminal");

    const usage = await Promise.all([
      keel(["jobs", "list", "--state", "bogus"]),
      keel(["jobs", "list", "--limit", "0"]),
      keel(["jobs", "list", "--cursor", "x"]),
      keel(["jobs", "get"]),
      keel(["jobs"]),
    ]);
    for (const run of usage) assert.equal(run.code, 2, `${run.stdout}${run.stderr}`);
    assert.match(usage[0]?.stderr ?? "", /Allowed choices are scheduled, available, running/);
    assert.match(usage[3]?.stderr ?? "", /missing required argument 'id'/);
  });

  test("retry and cancel: finished or unretryable jobs exit 4; changes are audited", async () => {
    const [deadId] = await deadJobs("ops", 1);
    const { id: liveId } = await engine.enqueue({ queue: "ops", target: { handler: "work" } });
    const [notRetryable, missing] = await Promise.all([
      keel(["jobs", "retry", liveId]),
      keel(["jobs", "cancel", "999999999"]),
    ]);
    failed(notRetryable, 4, /Job \d+ is available; only dead or cancelled jobs can be retried/);
    failed(missing, 3, /does not exist/);

    const cancelled = await keel(["jobs", "cancel", liveId]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal(cancelled.stdout, `Job ${liveId} cancelled (it was available).\n`);
    const [again, retried] = await Promise.all([
      keel(["jobs", "cancel", liveId, "--json"]),
      keel(["jobs", "retry", deadId as string]),
    ]);
    assert.equal(again.code, 4);
    assert.equal(JSON.parse(again.stderr).error.code, "job_already_finished");
    assert.equal(again.stdout, "");
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal(
      retried.stdout,
      `Job ${deadId} is back in queue ops (available), attempts reset to 0 of 1.\n`,
    );
    const back = await engine.getJob(deadId as string);
    assert.deepEqual([back.state, back.attempt], ["available", 0]);

    const [cancelAudit] = await auditRows("job.cancel", `job:${liveId}`);
    assert.equal(cancelAudit?.actor, ACTOR);
    assert.deepEqual(cancelAudit?.details, { previousState: "available" });
    assert.equal((await engine.getJob(liveId)).lastError?.message, `Cancelled by ${ACTOR}`);
    assert.equal((await auditRows("job.retry", `job:${deadId}`)).length, 1);

    const cancelledBack = json(await keel(["jobs", "retry", liveId, "--json"]));
    assert.deepEqual(cancelledBack, { id: liveId, queue: "ops", state: "available" });
  });

  test("retrying a dead job whose dedupe key a live job holds exits 4 and says why", async () => {
    const [deadId] = await deadJobs("dedupe", 1, { dedupeKey: "invoice-7" });
    await engine.enqueue({ queue: "dedupe", target: { handler: "work" }, dedupeKey: "invoice-7" });
    const run = await keel(["jobs", "retry", deadId as string]);
    failed(
      run,
      4,
      /cannot be retried while another unfinished job in queue 'dedupe' holds its dedupe key 'invoice-7'/,
    );
  });
});

describe("keel switches", () => {
  test("set and list, human and JSON; invalid names and states exit 2; changes are audited", async () => {
    const set = await keel(["switches", "set", "process:mail", "off", "--reason", "poisoned payloads"]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, "Switch process:mail is off (poisoned payloads).\n");
    assert.equal(await engine.switches.isEnabled("process:mail"), false);
    const [human, asJson, badName, badState] = await Promise.all([
      keel(["switches", "list"]),
      keel(["switches", "list", "--json"]),
      keel(["switches", "set", "bogus", "on"]),
      keel(["switches", "set", "process:mail", "maybe"]),
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^NAME\s+STATE\s+UPDATED\s+BY\s+REASON\n/);
    assert.match(human.stdout, new RegExp(`process:mail\\s+off\\s+\\S+\\s+${ACTOR}\\s+poisoned payloads`));
    const switches = json(asJson).switches as { name: string; enabled: boolean; updatedBy: string }[];
    assert.deepEqual(
      switches.map((s) => [s.name, s.enabled, s.updatedBy]),
      [["process:mail", false, ACTOR]],
    );
    failed(badName, 2, /'bogus' is not a switch/);
    assert.equal(badState.code, 2);
    assert.match(badState.stderr, /Allowed choices are on, off/);

    const on = json(await keel(["switches", "set", "process:mail", "on", "--json"]));
    assert.equal(on.enabled, true);
    const audits = await auditRows("switch.set", "switch:process:mail");
    assert.deepEqual(
      audits.map((a) => [a.actor, a.details]),
      [
        [ACTOR, { enabled: true, reason: null }],
        [ACTOR, { enabled: false, reason: "poisoned payloads" }],
      ],
    );
  });
});

describe("keel tokens", () => {
  test("create prints the token once and it works; list never shows it; revoke; unknown ids exit 3", async () => {
    const [human, asJson, noScope, badScope] = await Promise.all([
      keel(["tokens", "create", "--name", "ci", "--scope", "publish", "--scope", "read"]),
      keel(["tokens", "create", "--name", "ops", "--scope", "admin,read", "--json"]),
      keel(["tokens", "create", "--name", "x"]),
      keel(["tokens", "create", "--name", "x", "--scope", "root"]),
    ]);
    assert.equal(human.code, 0, human.stderr);
    const printed = human.stdout.match(/keel_[0-9A-Za-z]{32}/g) ?? [];
    assert.equal(printed.length, 1, human.stdout);
    const ciToken = printed[0] as string;
    assert.match(human.stdout, /only time it is shown/);
    assert.deepEqual((await engine.tokens.verify(ciToken))?.scopes, ["publish", "read"]);
    const ops = json(asJson) as { id: string; token: string; scopes: string[]; createdBy: string };
    assert.deepEqual((await engine.tokens.verify(ops.token))?.scopes, ["admin", "read"]);
    assert.equal(ops.createdBy, ACTOR);
    assert.equal(noScope.code, 2);
    assert.match(noScope.stderr, /required option '--scope <scope>' not specified/);
    assert.equal(badScope.code, 2);
    assert.match(badScope.stderr, /Use admin, publish, read/);

    const [list, listJson, missing] = await Promise.all([
      keel(["tokens", "list"]),
      keel(["tokens", "list", "--json"]),
      keel(["tokens", "revoke", "999999"]),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^\s*ID\s+NAME\s+PREFIX\s+SCOPES\s+STATUS/);
    assert.match(
      list.stdout,
      new RegExp(`${ops.id}\\s+ops\\s+${ops.token.slice(0, 9)}…\\s+admin,read\\s+active`),
    );
    for (const out of [list.stdout, listJson.stdout]) {
      assert.doesNotMatch(out, new RegExp(`${ciToken}|${ops.token}`), "secrets are never listed");
    }
    assert.equal((json(listJson).tokens as unknown[]).length, 2);
    failed(missing, 3, /Token 999999 does not exist/);

    const revoked = await keel(["tokens", "revoke", ops.id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `Token ${ops.id} "ops" revoked.\n`);
    assert.equal(await engine.tokens.verify(ops.token), null);
    const again = json(await keel(["tokens", "revoke", ops.id, "--json"]));
    assert.equal(again.alreadyRevoked, true);
    assert.equal(again.revokedBy, ACTOR);

    assert.equal((await auditRows("token.revoke", `token:${ops.id}`)).length, 1, "a no-op is not audited");
    const [created] = await auditRows("token.create", `token:${ops.id}`);
    assert.deepEqual(created?.details, { name: "ops", scopes: ["admin", "read"] });
    const everything = JSON.stringify(await engine.auditLog.list({ limit: 1000 }));
    assert.doesNotMatch(everything, /keel_[0-9A-Za-z]{32}/, "no secret in the audit log");
  });
});

describe("keel operator commands and the database", () => {
  test("unreachable exits 5, an unmigrated schema exits 6 without migrating, bad config exits 2", async () => {
    const unmigrated = freshSchema("cli_old");
    const emptyDir = tempDir("cli-ops-empty");
    const down = `postgres://postgres@127.0.0.1:${await closedPort()}/test`;
    const [refused, refusedJson, outdated, noCluster, badSchema] = await Promise.all([
      keel(["queues", "list"], { DATABASE_URL: down }),
      keel(["jobs", "get", "1", "--json"], { DATABASE_URL: down }),
      keel(["switches", "list"], { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: unmigrated }),
      keel(["tokens", "list"], { KEEL_DATA_DIR: emptyDir }),
      keel(["queues", "list"], { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: "Bad-Name" }),
    ]);
    failed(refused, 5, /^error: Postgres is not reachable: .*ECONNREFUSED/);
    assert.equal(refusedJson.code, 5);
    assert.equal(JSON.parse(refusedJson.stderr).error.code, "database_unavailable");
    failed(
      outdated,
      6,
      new RegExp(`schema '${unmigrated}' is at migration 0; this Keel needs \\d+\\. Run \`keel migrate\``),
    );
    failed(noCluster, 5, /holds no embedded Postgres/);
    assert.equal(existsSync(join(emptyDir, "pg")), false, "no cluster is created on the side");
    failed(badSchema, 2, /KEEL_SCHEMA="Bad-Name" must be lowercase letters/);

    const check = await engine.pool.query("select 1 from pg_namespace where nspname = $1", [unmigrated]);
    assert.equal(check.rowCount, 0, "the command did not migrate");
  });

  test("with the embedded Postgres: connects to a running Keel's server, or starts it when Keel is stopped", async () => {
    const dataDir = tempDir("cli-ops-embedded");
    const env = { KEEL_DATA_DIR: dataDir };
    const running = spawnKeel(["start", "--role", "worker"], { ...env, PORT: "0" });
    await waitFor(
      () => logLine(running, "keel started") ?? (running.child.exitCode !== null ? "exited" : undefined),
      30_000,
      "keel started",
    ).then((line) => assert.notEqual(line, "exited", JSON.stringify(running.lines)));

    const set = await keel(["switches", "set", "scheduling", "off", "--reason", "maintenance"], env);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stderr, "");

    running.child.kill("SIGTERM");
    assert.equal((await running.exited).code, 0);
    const listed = await keel(["switches", "list", "--json"], env);
    const switches = json(listed).switches as { name: string; enabled: boolean; reason: string }[];
    assert.deepEqual(
      switches.map((s) => [s.name, s.enabled, s.reason]),
      [["scheduling", false, "maintenance"]],
    );
    assert.deepEqual(postgresPidsFor(join(dataDir, "pg")), [], "the Postgres the command started is stopped");
    assert.equal(existsSync(join(dataDir, "keel.pid")), false);
  });
});
