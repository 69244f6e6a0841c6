import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { createWorker, type Engine, isKeelError, type Worker } from "../src/index.js";
import { deferred, guardLeaks, onCleanup, testDatabaseUrl, testEngine, waitFor } from "./helpers.js";
import { acceptEvent, operatorState } from "./operator-state.js";

// The engine in the application's transaction: with `{ client }` a mutation and its audit row
// join the caller's BEGIN … COMMIT; `<schema>.enqueue(...)` does the same from plain SQL.

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;
// The application's own pool: the engine never sees it except through the clients passed in.
const app = new pg.Pool({ connectionString: testDatabaseUrl(), max: 6 });
onCleanup(() => app.end());

/** Runs `fn` on an application client inside BEGIN … COMMIT (ROLLBACK when `rollback` or on error). */
async function inAppTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>, rollback = false): Promise<T> {
  const client = await app.connect();
  try {
    await client.query("begin");
    const out = await fn(client);
    await client.query(rollback ? "rollback" : "commit");
    return out;
  } catch (err) {
    await client.query("rollback");
    throw err;
  } finally {
    client.release();
  }
}

/** A worker on `queue` counting the runs of handler `work` per job id. */
async function countingWorker(queue: string): Promise<{ worker: Worker; runs: Map<string, number> }> {
  const runs = new Map<string, number>();
  const worker = createWorker({
    engine,
    queues: [queue],
    leaseMs: 5_000,
    maintenance: false,
    handlers: { work: async (ctx) => void runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1) },
  });
  await worker.start();
  return { worker, runs };
}

/** Resolves once the job has succeeded. */
const succeeded = (id: string) =>
  waitFor(async () => (await engine.getJob(id)).state === "succeeded", 10_000, `job ${id} succeeded`);

/** Jobs of `queue` in the live table and in history. */
async function jobCount(queue: string): Promise<number> {
  const { rows } = await engine.pool.query<{ n: number }>(
    `select ((select count(*) from ${S}.jobs where queue = $1) + (select count(*) from ${S}.job_history where queue = $1))::int as n`,
    [queue],
  );
  return rows[0]?.n ?? 0;
}

/** Sets up one of each thing the mutations below change; returns what they need. */
async function operatorFixtures(prefix: string) {
  const hourly = { cron: "0 * * * *", target: { handler: "work" }, queue: `${prefix}-q` };
  await engine.schedules.upsert(`${prefix}-s`, hourly);
  await engine.schedules.upsert(`${prefix}-paused`, hourly);
  await engine.schedules.pause(`${prefix}-paused`);
  await engine.schedules.upsert(`${prefix}-gone`, hourly);
  await engine.schedules.addTenants([`${prefix}-t`]);
  const token = await engine.tokens.create({ name: `${prefix}-token`, scopes: ["read"] });
  const route = { target: { handler: "work" }, queue: `${prefix}-q` };
  await engine.intake.sources.put(
    `${prefix}-src`,
    { provider: "github", secrets: ["s"], routes: [route] },
    {
      managedBy: "api",
    },
  );
  await engine.intake.sources.put(
    `${prefix}-old`,
    { provider: "github", secrets: ["s"] },
    { managedBy: "api" },
  );
  const event = await acceptEvent(engine, await engine.intake.sources.get(`${prefix}-src`), `${prefix}-e1`);
  return { hourly, token, event };
}

/** Each operator mutation of schedules, tenants, tokens, sources and events, with `options`. */
async function operatorMutations(
  prefix: string,
  fx: Awaited<ReturnType<typeof operatorFixtures>>,
  options: { client?: pg.ClientBase; by?: string },
) {
  await engine.schedules.upsert(`${prefix}-new`, fx.hourly, options);
  await engine.schedules.pause(`${prefix}-s`, { ...options, reason: "drill" });
  await engine.schedules.resume(`${prefix}-paused`, { ...options, backfill: "all" });
  await engine.schedules.trigger(`${prefix}-s`, options);
  await engine.schedules.delete(`${prefix}-gone`, options);
  await engine.schedules.addTenants([`${prefix}-t2`], options);
  await engine.schedules.removeTenant(`${prefix}-t`, options);
  await engine.tokens.create({ name: `${prefix}-new`, scopes: ["read"] }, options);
  await engine.tokens.revoke(fx.token.id, options);
  await engine.intake.sources.put(
    `${prefix}-src2`,
    { provider: "github", secrets: ["s"] },
    {
      ...options,
      managedBy: "api",
    },
  );
  await engine.intake.sources.remove(`${prefix}-old`, { ...options, managedBy: "api" });
  await engine.intake.events.replay(fx.event, options);
  await engine.intake.events.replayMany({ source: `${prefix}-src` }, options);
}

/** Audit rows of `action` on `target`, oldest first, as stored. */
async function auditRows(action: string, target: string) {
  const { rows } = await engine.pool.query(
    `select actor, action, target, source, details from ${S}.audit_log where action = $1 and target = $2 order by id`,
    [action, target],
  );
  return rows;
}

describe("engine mutations with { client }", () => {
  test("commit: the job runs once; rollback: it never exists and is never claimed", async () => {
    const { worker, runs } = await countingWorker("tx-pg");
    try {
      const committed = await inAppTransaction(async (client) => {
        await client.query("select 1"); // the application's own write would go here
        return engine.enqueue({ queue: "tx-pg", target: { handler: "work" } }, { client });
      });
      await succeeded(committed.id);
      assert.equal(runs.get(committed.id), 1);

      const rolledBack = await inAppTransaction(
        (client) => engine.enqueue({ queue: "tx-pg", target: { handler: "work" } }, { client }),
        true,
      );
      await assert.rejects(engine.getJob(rolledBack.id), (e: unknown) => isKeelError(e, "job_not_found"));
      // A job enqueued after the rollback runs; the rolled-back one, older, would have come first.
      const marker = await engine.enqueue({ queue: "tx-pg", target: { handler: "work" } });
      await succeeded(marker.id);
      assert.equal(runs.has(rolledBack.id), false, "the rolled-back job was never run");
      assert.deepEqual([...runs.keys()].sort(), [committed.id, marker.id].sort());
      assert.equal(await jobCount("tx-pg"), 2);
    } finally {
      await worker.stop();
    }
  });

  test("workers hear of a job at commit, not before (pg_notify is transactional)", async () => {
    const heard: string[] = [];
    const marker = deferred();
    const listener = new pg.Client({ connectionString: testDatabaseUrl() });
    await listener.connect();
    onCleanup(() => listener.end());
    listener.on("notification", (msg) => {
      heard.push(msg.payload ?? "");
      if (msg.payload === "marker") marker.resolve();
    });
    await listener.query(`listen "${engine.channel}"`);
    const committed = deferred();
    const client = await app.connect();
    try {
      await client.query("begin");
      await engine.enqueue({ queue: "tx-notify", target: { handler: "work" } }, { client });
      // Notifications arrive in commit order: had the enqueue's been sent, it would precede this one.
      await app.query("select pg_notify($1, 'marker')", [engine.channel]);
      await marker.promise;
      assert.deepEqual(heard, ["marker"], "nothing heard while the transaction is open");
      listener.on("notification", (msg) => msg.payload === "tx-notify" && committed.resolve());
      await client.query("commit");
    } finally {
      client.release();
    }
    await committed.promise;
    assert.deepEqual(heard, ["marker", "tx-notify"]);
  });

  test("concurrent transactions with one dedupe key make one job", async () => {
    const first = await app.connect();
    const second = await app.connect();
    try {
      await first.query("begin");
      await second.query("begin");
      const job = { queue: "tx-dedupe", target: { handler: "work" }, dedupeKey: "order-7" };
      const a = await engine.enqueue(job, { client: first });
      // Waits on the first transaction's row (unique index) until it commits.
      const pending = engine.enqueue(job, { client: second });
      await first.query("commit");
      const b = await pending;
      await second.query("commit");
      assert.equal(b.id, a.id);
      assert.deepEqual([a.deduplicated, b.deduplicated], [false, true]);
      assert.equal(await jobCount("tx-dedupe"), 1);
    } finally {
      first.release();
      second.release();
    }
  });

  test("engine.transaction runs the application's statements and the engine's in one transaction", async () => {
    await app.query("create table if not exists tx_orders (id int primary key)");
    onCleanup(() => app.query("drop table if exists tx_orders"));
    const failed = engine.transaction(async (client) => {
      await client.query("insert into tx_orders (id) values (1)");
      await engine.enqueue(
        { queue: "tx-engine", target: { handler: "work" }, payload: { order: 1 } },
        { client },
      );
      throw new Error("payment declined");
    });
    await assert.rejects(failed, /payment declined/);
    assert.equal(await jobCount("tx-engine"), 0);
    assert.equal((await app.query("select count(*)::int as n from tx_orders")).rows[0].n, 0);

    const { id } = await engine.transaction(async (client) => {
      await client.query("insert into tx_orders (id) values (2)");
      return engine.enqueue(
        { queue: "tx-engine", target: { handler: "work" }, payload: { order: 2 } },
        { client },
      );
    });
    assert.deepEqual((await engine.getJob(id)).payload, { order: 2 });
    assert.equal((await app.query("select count(*)::int as n from tx_orders")).rows[0].n, 1);
  });

  test("cancel, retry, pause, resume and switches in a rolled-back transaction leave no change and no audit row", async () => {
    await engine.upsertQueue("tx-ops");
    const { id } = await engine.enqueue({ queue: "tx-ops", target: { handler: "work" } });
    await inAppTransaction(async (client) => {
      const by = "cli:ops@bastion";
      assert.deepEqual(await engine.cancel(id, { client, by }), { id, previousState: "available" });
      await engine.retry(id, { client, by });
      await engine.pauseQueue("tx-ops", { client, by });
      await engine.switches.set("enqueue:tx-ops", false, { client, by });
      // Inside the transaction every change and its audit row are visible…
      const seen = await client.query(`select count(*)::int as n from ${S}.audit_log where actor = $1`, [by]);
      assert.equal(seen.rows[0].n, 4);
    }, true);
    // …and after the rollback none is.
    assert.equal((await engine.getJob(id)).state, "available");
    assert.equal((await engine.queueLimits(["tx-ops"])).get("tx-ops")?.paused, false);
    assert.equal(await engine.switches.isEnabled("enqueue:tx-ops"), true);
    const { rows } = await engine.pool.query(
      `select count(*)::int as n from ${S}.audit_log where actor = $1`,
      ["cli:ops@bastion"],
    );
    assert.equal(rows[0].n, 0);
  });

  test("schedules, tenants, tokens, sources and replays in a rolled-back transaction leave no change and no audit row", async () => {
    const fx = await operatorFixtures("tx-more");
    const before = await operatorState(engine, {
      audit: "select count(*)::int as n from {{schema}}.audit_log",
    });
    const by = "cli:ops@bastion";
    await inAppTransaction(async (client) => {
      await operatorMutations("tx-more", fx, { client, by });
      // Inside the transaction every change and its audit row are visible…
      const seen = await client.query(`select action from ${S}.audit_log where actor = $1 order by id`, [by]);
      assert.deepEqual(
        seen.rows.map((r) => r.action),
        [
          "schedule.create",
          "schedule.pause",
          "schedule.resume",
          "schedule.trigger",
          "schedule.delete",
          "tenant.add",
          "tenant.remove",
          "token.create",
          "token.revoke",
          "source.put",
          "source.delete",
          "event.replay",
          "event.replay_bulk",
        ],
      );
    }, true);
    // …and after the rollback none is: no schedule, switch, run, job, tenant, token or source.
    assert.deepEqual(
      await operatorState(engine, { audit: "select count(*)::int as n from {{schema}}.audit_log" }),
      before,
    );
  });

  test("a refused retry keeps the caller's transaction usable and says why", async () => {
    const { id } = await engine.enqueue({ queue: "tx-refused", target: { handler: "work" }, dedupeKey: "k" });
    await engine.cancel(id);
    await engine.enqueue({ queue: "tx-refused", target: { handler: "work" }, dedupeKey: "k" });
    await inAppTransaction(async (client) => {
      await assert.rejects(engine.retry(id, { client }), (e: unknown) => isKeelError(e, "dedupe_key_taken"));
      // The savepoint rolled back only the retry: the transaction goes on.
      assert.equal((await client.query("select 1 as one")).rows[0].one, 1);
    });
  });
});

describe("audit by construction", () => {
  test("direct engine calls are audited as engine:<applicationName>, with the same details as the API and CLI", async () => {
    await engine.upsertQueue("au-direct");
    await engine.pauseQueue("au-direct");
    await engine.resumeQueue("au-direct", { by: "cli:ops@bastion", source: "bastion" });
    await engine.switches.set("process:au-direct", false, { reason: "incident 9" });
    assert.deepEqual(await auditRows("queue.pause", "queue:au-direct"), [
      {
        actor: "engine:keel",
        action: "queue.pause",
        target: "queue:au-direct",
        source: null,
        details: { wasPaused: false },
      },
    ]);
    assert.deepEqual(await auditRows("queue.resume", "queue:au-direct"), [
      {
        actor: "cli:ops@bastion",
        action: "queue.resume",
        target: "queue:au-direct",
        source: "bastion",
        details: { wasPaused: true },
      },
    ]);
    assert.deepEqual(await auditRows("switch.set", "switch:process:au-direct"), [
      {
        actor: "engine:keel",
        action: "switch.set",
        target: "switch:process:au-direct",
        source: null,
        details: { enabled: false, reason: "incident 9" },
      },
    ]);
  });

  test("an application's enqueue is audited only when it names who made it", async () => {
    const quiet = await engine.enqueue({ queue: "au-enqueue", target: { handler: "work" } });
    const named = await engine.enqueue(
      { queue: "au-enqueue", target: { url: "https://app.example.com/hook?secret=x" } },
      { by: "api:token:7", source: "10.0.0.7" },
    );
    assert.deepEqual(await auditRows("job.create", `job:${quiet.id}`), []);
    assert.deepEqual(await auditRows("job.create", `job:${named.id}`), [
      {
        actor: "api:token:7",
        action: "job.create",
        target: `job:${named.id}`,
        source: "10.0.0.7",
        details: { queue: "au-enqueue", url: "https://app.example.com" },
      },
    ]);
  });

  test("a failure to write the audit row rolls the change back", async () => {
    await engine.upsertQueue("au-fail");
    const { id } = await engine.enqueue({ queue: "au-fail", target: { handler: "work" } });
    await engine.pool.query(`
      create function ${S}.refuse_audit() returns trigger language plpgsql as $$
      begin raise exception 'audit log refused (test)'; end $$;
      create trigger refuse_audit before insert on ${S}.audit_log for each row execute function ${S}.refuse_audit();`);
    try {
      await assert.rejects(engine.cancel(id), /audit log refused/);
      await assert.rejects(engine.pauseQueue("au-fail"), /audit log refused/);
      await assert.rejects(engine.switches.set("enqueue:au-fail", false), /audit log refused/);
      await assert.rejects(
        engine.enqueue({ queue: "au-fail", target: { handler: "work" } }, { by: "api:token:1" }),
        /audit log refused/,
      );
    } finally {
      await engine.pool.query(
        `drop trigger refuse_audit on ${S}.audit_log; drop function ${S}.refuse_audit()`,
      );
    }
    assert.equal((await engine.getJob(id)).state, "available");
    assert.equal((await engine.queueLimits(["au-fail"])).get("au-fail")?.paused, false);
    assert.equal(await engine.switches.isEnabled("enqueue:au-fail"), true);
    assert.equal(await jobCount("au-fail"), 1);
  });
});

describe("audit by construction: queue settings", () => {
  test("creating or changing a queue's settings is audited once; the same settings again write nothing", async () => {
    const as = { by: "config:keel.config.yaml", source: "web-1" };
    await engine.upsertQueue("au-conf", { concurrency: 5 }, as);
    await engine.upsertQueue("au-conf", { concurrency: 5 }, as);
    await engine.upsertQueue("au-conf", { concurrency: 7, deliveryTimeoutMs: 60_000 }, as);
    const rows = await auditRows("queue.configure", "queue:au-conf");
    const settings = (concurrency: number, deliveryTimeoutMs: number | null) => ({
      concurrency,
      tenantConcurrency: null,
      maxAttempts: 10,
      backoff: null,
      retentionSucceededSeconds: 7 * 86_400,
      retentionDeadSeconds: 30 * 86_400,
      deliveryTimeoutMs,
    });
    assert.deepEqual(
      rows,
      [
        {
          ...as,
          actor: as.by,
          action: "queue.configure",
          target: "queue:au-conf",
          details: { created: true, settings: settings(5, null) },
        },
        {
          ...as,
          actor: as.by,
          action: "queue.configure",
          target: "queue:au-conf",
          details: { created: false, settings: settings(7, 60_000) },
        },
      ].map(({ by: _by, ...row }) => row),
    );
  });

  test("a failure to write its audit row leaves the queue's settings as they were", async () => {
    await engine.upsertQueue("au-conf-fail", { concurrency: 3 });
    await engine.pool.query(`
      create function ${S}.refuse_audit() returns trigger language plpgsql as $$
      begin raise exception 'audit log refused (test)'; end $$;
      create trigger refuse_audit before insert on ${S}.audit_log for each row execute function ${S}.refuse_audit();`);
    try {
      await assert.rejects(engine.upsertQueue("au-conf-fail", { concurrency: 9 }), /audit log refused/);
      await assert.rejects(engine.upsertQueue("au-conf-new"), /audit log refused/);
    } finally {
      await engine.pool.query(
        `drop trigger refuse_audit on ${S}.audit_log; drop function ${S}.refuse_audit()`,
      );
    }
    const { rows } = await engine.pool.query(
      `select name, concurrency from ${S}.queues where name in ('au-conf-fail', 'au-conf-new')`,
    );
    assert.deepEqual(rows, [{ name: "au-conf-fail", concurrency: 3 }]);
  });
});

describe("audit by construction: schedules, tenants, tokens, sources, replays", () => {
  test("a failure to write the audit row rolls each change back", async () => {
    const fx = await operatorFixtures("au-more");
    const before = await operatorState(engine, {
      audit: "select count(*)::int as n from {{schema}}.audit_log",
    });
    await engine.pool.query(`
      create function ${S}.refuse_audit() returns trigger language plpgsql as $$
      begin raise exception 'audit log refused (test)'; end $$;
      create trigger refuse_audit before insert on ${S}.audit_log for each row execute function ${S}.refuse_audit();`);
    const refused: string[] = [];
    try {
      const expect = async (name: string, change: Promise<unknown>) => {
        await assert.rejects(change, /audit log refused/, name);
        refused.push(name);
      };
      const p = "au-more";
      await expect("upsert", engine.schedules.upsert(`${p}-new`, fx.hourly));
      await expect("pause", engine.schedules.pause(`${p}-s`));
      await expect("resume", engine.schedules.resume(`${p}-paused`, { backfill: "all" }));
      await expect("trigger", engine.schedules.trigger(`${p}-s`));
      await expect("delete", engine.schedules.delete(`${p}-gone`));
      await expect("addTenants", engine.schedules.addTenants([`${p}-t2`]));
      await expect("removeTenant", engine.schedules.removeTenant(`${p}-t`));
      await expect("tokens.create", engine.tokens.create({ name: `${p}-new`, scopes: ["read"] }));
      await expect("tokens.revoke", engine.tokens.revoke(fx.token.id));
      await expect(
        "sources.put",
        engine.intake.sources.put(`${p}-src2`, { provider: "github", secrets: ["s"] }, { managedBy: "api" }),
      );
      await expect("sources.remove", engine.intake.sources.remove(`${p}-old`, { managedBy: "api" }));
      await expect("replay", engine.intake.events.replay(fx.event));
      await expect("replayMany", engine.intake.events.replayMany({ source: `${p}-src` }));
      await expect("sync", engine.schedules.sync({ [`${p}-file`]: fx.hourly }));
    } finally {
      await engine.pool.query(
        `drop trigger refuse_audit on ${S}.audit_log; drop function ${S}.refuse_audit()`,
      );
    }
    assert.equal(refused.length, 14);
    assert.deepEqual(
      await operatorState(engine, { audit: "select count(*)::int as n from {{schema}}.audit_log" }),
      before,
    );
  });

  test("direct calls are audited as engine:<applicationName>; a token or its hash never reaches a row", async () => {
    const fx = await operatorFixtures("au-actor");
    const from = (await engine.pool.query(`select count(*)::int as n from ${S}.audit_log`)).rows[0].n;
    await operatorMutations("au-actor", fx, {});
    const { rows } = await engine.pool.query(
      `select actor, action, details from ${S}.audit_log order by id offset $1`,
      [from],
    );
    assert.equal(rows.length, 13);
    assert.deepEqual(new Set(rows.map((r) => r.actor)), new Set(["engine:keel"]));
    const { rows: tokens } = await engine.pool.query(
      `select prefix, encode(hash, 'hex') as hash from ${S}.tokens`,
    );
    const everything = JSON.stringify(rows);
    for (const t of tokens) {
      assert.ok(!everything.includes(t.hash), "no token hash in the audit log");
      assert.ok(!everything.includes(t.prefix), "no token prefix in the audit log");
    }
    // Revoking twice keeps the first revocation and writes no second row.
    await engine.tokens.revoke(fx.token.id, { by: "cli:ops@bastion" });
    assert.deepEqual(await auditRows("token.revoke", `token:${fx.token.id}`), [
      {
        actor: "engine:keel",
        action: "token.revoke",
        target: `token:${fx.token.id}`,
        source: null,
        details: { name: "au-actor-token" },
      },
    ]);
  });
});

describe("enqueue from SQL", () => {
  const call = (client: pg.ClientBase | pg.Pool, ...args: unknown[]) =>
    client.query<{ id: string }>(
      `select ${S}.enqueue($1, $2::jsonb, $3::jsonb, $4::jsonb) as id`,
      args.map((a, i) => (i === 0 || a === null ? a : JSON.stringify(a))),
    );

  test("returns the job id; the job is the engine's, with queue defaults and options applied", async () => {
    await engine.upsertQueue("sql-a", { maxAttempts: 3 });
    const { rows } = await call(app, "sql-a", { handler: "work" }, { n: 1 }, { priority: 5, tenant: "acme" });
    const job = await engine.getJob(rows[0]?.id as string);
    assert.deepEqual(
      [job.queue, job.state, job.payload, job.priority, job.maxAttempts, job.tenant],
      ["sql-a", "available", { n: 1 }, 5, 3, "acme"],
    );
    const later = await call(app, null, { url: "https://app.example.com/hook", method: "PUT" }, null, {
      delayMs: 60_000,
    });
    const scheduled = await engine.getJob(later.rows[0]?.id as string);
    assert.deepEqual([scheduled.queue, scheduled.state, scheduled.payload], ["default", "scheduled", null]);
  });

  test("refuses what the engine refuses, naming the field", async () => {
    const refused: [unknown[], RegExp][] = [
      [["bad queue!", { handler: "work" }, null, null], /queue 'bad queue!'/],
      [["q", { handler: "work", extra: 1 }, null, null], /target\.extra: unknown option/],
      [["q", { url: "ftp://x" }, null, null], /target\.url: must be an absolute http\(s\) URL/],
      [["q", { url: "https://u:p@x.example" }, null, null], /must not contain credentials/],
      [["q", { url: "https://x.example", method: "TRACE" }, null, null], /target\.method/],
      [["q", { url: "https://x.example", headers: { "a b": "c" } }, null, null], /invalid header name/],
      [["q", { handler: "work" }, null, { dedupe: "x" }], /options\.dedupe: unknown option/],
      [
        ["q", { handler: "work" }, null, { delayMs: 1, runAt: "2030-01-01T00:00:00Z" }],
        /either delayMs or runAt/,
      ],
      [["q", { handler: "work" }, null, { maxAttempts: 0 }], /options\.maxAttempts/],
      [["q", { handler: "work" }, null, { backoff: { type: "linear" } }], /options\.backoff/],
      [["q", { handler: "work" }, "x".repeat(1024 * 1024 + 1), null], /the limit is 1048576/],
    ];
    for (const [args, message] of refused) {
      await assert.rejects(call(app, ...args), (e: unknown) => {
        assert.match(String((e as Error).message), message);
        return true;
      });
    }
    await engine.switches.set("enqueue:sql-off", false, { reason: "test" });
    await assert.rejects(call(app, "sql-off", { handler: "work" }, null, null), /is switched off/);
  });

  test("with Kysely: commit runs the job once, rollback leaves nothing, concurrent dedupe makes one job", async () => {
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool: app }) });
    const fn = sql.id(engine.schema, "enqueue");
    const enqueue = (queue: string, options: Record<string, unknown> = {}) =>
      sql<{
        id: string;
      }>`select ${fn}(${queue}, ${JSON.stringify({ handler: "work" })}::jsonb, null, ${JSON.stringify(options)}::jsonb) as id`;
    const { worker, runs } = await countingWorker("sql-kysely");
    try {
      const committed = await db.transaction().execute(async (trx) => {
        const { rows } = await enqueue("sql-kysely").execute(trx);
        return rows[0]?.id as string;
      });
      await succeeded(committed);
      assert.equal(runs.get(committed), 1);

      let rolledBack = "";
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          rolledBack = (await enqueue("sql-kysely").execute(trx)).rows[0]?.id as string;
          throw new Error("the order failed");
        }),
        /the order failed/,
      );
      await assert.rejects(engine.getJob(rolledBack), (e: unknown) => isKeelError(e, "job_not_found"));

      // Two transactions with one dedupe key (on a queue no worker empties, as dedupe is among
      // unfinished jobs): the second meets the first's job, waiting for its commit if needed.
      const firstIn = deferred();
      const release = deferred();
      const a = db.transaction().execute(async (trx) => {
        const { rows } = await enqueue("sql-kysely-dedupe", { dedupeKey: "invoice-9" }).execute(trx);
        firstIn.resolve();
        await release.promise;
        return rows[0]?.id as string;
      });
      await firstIn.promise;
      const b = db.transaction().execute(async (trx) => {
        const out = enqueue("sql-kysely-dedupe", { dedupeKey: "invoice-9" }).execute(trx);
        release.resolve();
        return (await out).rows[0]?.id as string;
      });
      const [idA, idB] = await Promise.all([a, b]);
      assert.equal(idB, idA);
      assert.equal(await jobCount("sql-kysely-dedupe"), 1);
      const marker = await engine.enqueue({ queue: "sql-kysely", target: { handler: "work" } });
      await succeeded(marker.id);
      assert.equal(runs.has(rolledBack), false);
      assert.equal(runs.get(committed), 1);
      assert.equal(await jobCount("sql-kysely"), 2);
    } finally {
      await worker.stop();
      // The pool is the test's; Kysely's destroy would end it.
    }
  });
});
