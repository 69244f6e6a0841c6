import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { describe, test } from "node:test";
import Fastify from "fastify";
import type { AuditRecord, Engine } from "../../engine/src/index.js";
import { guardLeaks, onCleanup, testDatabaseUrl, testEngine } from "../../engine/test/helpers.js";
import { acceptEvent, operatorState } from "../../engine/test/operator-state.js";
import { registerApi } from "../src/api/index.js";
import { syncSources } from "../src/config/sources.js";
import { configSync, syncSchedules } from "../src/runtime/config-sync.js";
import { runKeel } from "./helpers.js";

// Inside Keel, one request's change, its audit row and its Idempotency-Key record commit
// together; every path that makes a change (API, CLI, a direct engine call) leaves the same row.

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;
const admin = `admin-${randomBytes(24).toString("hex")}`;
const app = Fastify();
registerApi(app, { engine, adminToken: admin, production: false });
await app.ready();
onCleanup(() => app.close());
const CLI_ACTOR = `cli:${userInfo().username}@${hostname()}`;

function post(url: string, payload?: object, key?: string) {
  return send("POST", url, payload, key);
}

function send(method: "POST" | "PUT" | "DELETE", url: string, payload?: object, key?: string) {
  return app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${admin}`, ...(key ? { "idempotency-key": key } : {}) },
    ...(payload ? { payload } : {}),
  });
}

const hourly = (queue: string) => ({ cron: "0 * * * *", target: { handler: "work" }, queue });

/** A source routing every event to handler `work` on `queue`, with one stored event; returns its id. */
async function sourceWithEvent(name: string, queue: string): Promise<string> {
  const definition = { provider: "github", secrets: ["s"], routes: [{ target: { handler: "work" }, queue }] };
  const { source } = await engine.intake.sources.put(name, definition, { managedBy: "api" });
  return acceptEvent(engine, source, `${name}-1`);
}

/** What the operator changes below touch, and the Idempotency-Key records. */
const state = () =>
  operatorState(engine, { idempotency: "select key, state from {{schema}}.idempotency_keys order by key" });

async function jobCount(queue: string): Promise<number> {
  const { rows } = await engine.pool.query<{ n: number }>(
    `select ((select count(*) from ${S}.jobs where queue = $1) + (select count(*) from ${S}.job_history where queue = $1))::int as n`,
    [queue],
  );
  return rows[0]?.n ?? 0;
}

/** Makes every insert into `table` fail (when `when` holds) until the returned function is called. */
async function failWrites(table: string, when = "true", event = "insert"): Promise<() => Promise<void>> {
  const fn = `${S}.fail_${table}`;
  await engine.pool.query(`
    create function ${fn}() returns trigger language plpgsql as $$
    begin if ${when} then raise exception 'injected failure on ${table}'; end if; return new; end $$;
    create trigger fail_${table} before ${event} on ${S}.${table} for each row execute function ${fn}();`);
  return async () => {
    await engine.pool.query(`drop trigger fail_${table} on ${S}.${table}; drop function ${fn}()`);
  };
}

describe("an Idempotency-Key create commits its record, its job and its audit row together", () => {
  test("a failure to store the response leaves no job and releases the key; the retry makes exactly one", async () => {
    const job = { queue: "idem-finish", target: { handler: "work" }, payload: { order: 1 } };
    // The record's update to 'completed' fails: the statement after the enqueue.
    const restore = await failWrites("idempotency_keys", "new.state = 'completed'", "update");
    const failed = await post("/v1/jobs", job, "order-1");
    await restore();
    assert.equal(failed.statusCode, 500, failed.body);
    assert.equal(await jobCount("idem-finish"), 0, "the enqueue rolled back with the record");

    // Nothing committed, so the key was given back: the retry runs at once, once.
    const { rows } = await engine.pool.query(`select state from ${S}.idempotency_keys where key = 'order-1'`);
    assert.deepEqual(rows, [], "the key was released");
    const retried = await post("/v1/jobs", job, "order-1");
    assert.equal(retried.statusCode, 201, retried.body);
    const again = await post("/v1/jobs", job, "order-1");
    assert.equal(again.headers["idempotent-replayed"], "true");
    assert.equal(again.json().id, retried.json().id);
    assert.equal(await jobCount("idem-finish"), 1);
  });

  test("a failure to write the audit row rolls the job and the record back", async () => {
    const restore = await failWrites("audit_log", "new.action = 'job.create'");
    const job = { queue: "idem-audit", target: { handler: "work" } };
    const failed = await post("/v1/jobs", job, "audit-1");
    const batch = await post("/v1/jobs/batch", { jobs: [job, job] }, "audit-2");
    const plain = await post("/v1/jobs", job);
    await restore();
    assert.equal(failed.statusCode, 500, failed.body);
    assert.equal(batch.statusCode, 201, "the batch's action is job.create_batch, not refused");
    assert.equal(plain.statusCode, 500, plain.body);
    assert.equal(await jobCount("idem-audit"), 2, "only the batch's jobs exist");
    const { rows } = await engine.pool.query(`select state from ${S}.idempotency_keys where key = 'audit-1'`);
    assert.deepEqual(rows, [], "no response stored with the failure, and the key released for a retry");
  });

  test("a failure to write the audit row of a cancel, pause or switch leaves the change unmade", async () => {
    const { id } = await engine.enqueue({ queue: "idem-ops", target: { handler: "work" } });
    const restore = await failWrites("audit_log");
    const answers = [
      await post(`/v1/jobs/${id}/cancel`),
      await post("/v1/queues/idem-ops/pause"),
      await app.inject({
        method: "PUT",
        url: "/v1/switches/enqueue:idem-ops",
        headers: { authorization: `Bearer ${admin}` },
        payload: { enabled: false },
      }),
    ];
    await restore();
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [500, 500, 500],
    );
    assert.equal((await engine.getJob(id)).state, "available");
    assert.equal((await engine.queueLimits(["idem-ops"])).get("idem-ops")?.paused, false);
    assert.equal(await engine.switches.isEnabled("enqueue:idem-ops"), true);
  });
});

describe("schedules, tenants, tokens, sources and replays through the API commit with their audit rows", () => {
  test("a failure to write the audit row leaves each change unmade and answers 500", async () => {
    await engine.schedules.upsert("ax-s", hourly("ax-q"));
    await engine.schedules.upsert("ax-paused", hourly("ax-q"));
    await engine.schedules.pause("ax-paused");
    await engine.schedules.upsert("ax-gone", hourly("ax-q"));
    await engine.schedules.addTenants(["ax-t"]);
    const token = await engine.tokens.create({ name: "ax-token", scopes: ["read"] });
    const event = await sourceWithEvent("ax-src", "ax-q");
    await engine.intake.sources.put("ax-old", { provider: "github", secrets: ["s"] }, { managedBy: "api" });
    const before = await state();
    const restore = await failWrites("audit_log");
    const answers = {
      put: await send("PUT", "/v1/schedules/ax-new", hourly("ax-q")),
      pause: await post("/v1/schedules/ax-s/pause", { reason: "drill" }),
      resume: await post("/v1/schedules/ax-paused/resume", { backfill: "all" }),
      trigger: await post("/v1/schedules/ax-s/trigger"),
      triggerIdempotent: await post("/v1/schedules/ax-s/trigger", undefined, "ax-trigger"),
      delete: await send("DELETE", "/v1/schedules/ax-gone"),
      tenantAdd: await send("PUT", "/v1/tenants/ax-t2"),
      tenantRemove: await send("DELETE", "/v1/tenants/ax-t"),
      tokenCreate: await post("/v1/tokens", { name: "ax-new", scopes: ["read"] }),
      tokenRevoke: await send("DELETE", `/v1/tokens/${token.id}`),
      sourcePut: await send("PUT", "/v1/sources/ax-src2", { provider: "github", secrets: ["s"] }),
      sourceDelete: await send("DELETE", "/v1/sources/ax-old"),
      replay: await post(`/v1/events/${event}/replay`),
      replayBulk: await post("/v1/events/replay", { source: "ax-src" }),
    };
    await restore();
    for (const [name, res] of Object.entries(answers))
      assert.equal(res.statusCode, 500, `${name}: ${res.body}`);
    const after = await state();
    // The idempotent trigger's key was taken, and given back when the trigger failed (nothing
    // committed), so its retry runs at once.
    assert.deepEqual(
      after.idempotency?.filter((k) => k.key === "ax-trigger"),
      [],
    );
    assert.deepEqual({ ...after, idempotency: before.idempotency }, before);
  });

  test("an Idempotency-Key trigger whose response fails to store leaves no job and no slot, and releases the key; the retry makes one", async () => {
    await engine.schedules.upsert("idem-trigger", hourly("idem-trigger"));
    const restore = await failWrites("idempotency_keys", "new.state = 'completed'", "update");
    const failed = await post("/v1/schedules/idem-trigger/trigger", undefined, "trigger-1");
    await restore();
    assert.equal(failed.statusCode, 500, failed.body);
    assert.equal(await jobCount("idem-trigger"), 0, "the trigger rolled back with the response");
    assert.deepEqual(await engine.schedules.runs("idem-trigger"), []);
    const { rows: held } = await engine.pool.query(
      `select 1 from ${S}.idempotency_keys where key = 'trigger-1'`,
    );
    assert.deepEqual(held, [], "the key was released: the retry runs at once");
    const retried = await post("/v1/schedules/idem-trigger/trigger", undefined, "trigger-1");
    assert.equal(retried.statusCode, 201, retried.body);
    const again = await post("/v1/schedules/idem-trigger/trigger", undefined, "trigger-1");
    assert.equal(again.headers["idempotent-replayed"], "true");
    assert.deepEqual(again.json(), retried.json());
    assert.equal(await jobCount("idem-trigger"), 1);
    const rows = (await engine.auditLog.list({ limit: 1000 })).filter(
      (a) => a.action === "schedule.trigger" && a.target === "schedule:idem-trigger",
    );
    assert.equal(rows.length, 1, "one audit row, of the trigger that committed");
  });
});

describe("the same change leaves the same audit row from the API, the CLI and the engine", () => {
  const CLI_ENV = { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: engine.schema };

  /** The one audit row of `action` on `target`. */
  async function row(action: string, target: string): Promise<AuditRecord> {
    const rows = (await engine.auditLog.list({ limit: 1000 })).filter(
      (a) => a.action === action && a.target === target,
    );
    assert.equal(rows.length, 1, `one ${action} row on ${target}`);
    return rows[0] as AuditRecord;
  }

  /** A row without who, where and when: what must be equal across paths. */
  const shape = (r: AuditRecord, target: string) => ({
    keys: Object.keys(r).sort(),
    action: r.action,
    target: r.target === target ? "<target>" : r.target,
    details: r.details,
  });

  test("pause, resume, cancel, retry and switch changes", async () => {
    const paths = ["api", "cli", "engine"] as const;
    const jobs: Record<string, string> = {};
    for (const path of paths) {
      await engine.upsertQueue(`shape-${path}`);
      jobs[path] = (await engine.enqueue({ queue: `shape-${path}`, target: { handler: "work" } })).id;
    }
    const cli = async (args: string[]) => {
      const run = await runKeel(args, CLI_ENV);
      assert.equal(run.code, 0, run.stderr);
    };
    const byPath = {
      api: async (q: string, id: string) => {
        for (const res of [
          await post(`/v1/queues/${q}/pause`),
          await post(`/v1/queues/${q}/resume`),
          await post(`/v1/jobs/${id}/cancel`),
          await post(`/v1/jobs/${id}/retry`),
          await app.inject({
            method: "PUT",
            url: `/v1/switches/process:${q}`,
            headers: { authorization: `Bearer ${admin}` },
            payload: { enabled: false, reason: "drill" },
          }),
        ])
          assert.ok(res.statusCode < 300, res.body);
      },
      cli: async (q: string, id: string) => {
        await cli(["queues", "pause", q]);
        await cli(["queues", "resume", q]);
        await cli(["jobs", "cancel", id]);
        await cli(["jobs", "retry", id]);
        await cli(["switches", "set", `process:${q}`, "off", "--reason", "drill"]);
      },
      engine: async (q: string, id: string) => {
        await engine.pauseQueue(q);
        await engine.resumeQueue(q);
        await engine.cancel(id);
        await engine.retry(id);
        await engine.switches.set(`process:${q}`, false, { reason: "drill" });
      },
    };
    for (const path of paths) await byPath[path](`shape-${path}`, jobs[path] as string);

    const actors = { api: "api:token:admin", cli: CLI_ACTOR, engine: "engine:keel" };
    const seen: Record<string, unknown[]> = {};
    for (const path of paths) {
      const q = `shape-${path}`;
      const id = jobs[path] as string;
      const rows: [AuditRecord, string][] = [
        [await row("queue.pause", `queue:${q}`), `queue:${q}`],
        [await row("queue.resume", `queue:${q}`), `queue:${q}`],
        [await row("job.cancel", `job:${id}`), `job:${id}`],
        [await row("job.retry", `job:${id}`), `job:${id}`],
        [await row("switch.set", `switch:process:${q}`), `switch:process:${q}`],
      ];
      for (const [r] of rows) assert.equal(r.actor, actors[path]);
      // Details that name the queue name it by path; the rest must be equal.
      seen[path] = rows.map(([r, target]) => {
        const s = shape(r, target);
        return JSON.parse(JSON.stringify(s).replaceAll(q, "<queue>"));
      });
    }
    assert.deepEqual(seen.cli, seen.api);
    assert.deepEqual(seen.engine, seen.api);
    assert.deepEqual(
      (seen.api as { action: string; details: unknown }[]).map((s) => [s.action, s.details]),
      [
        ["queue.pause", { wasPaused: false }],
        ["queue.resume", { wasPaused: true }],
        ["job.cancel", { previousState: "available" }],
        ["job.retry", { queue: "<queue>" }],
        ["switch.set", { enabled: false, reason: "drill" }],
      ],
    );
  });

  test("schedule pause, resume and trigger, token create and revoke, event replays, schedule and source writes", async () => {
    const paths = ["api", "cli", "engine", "config"] as const;
    type Path = (typeof paths)[number];
    const fx: Record<string, { event: string; token?: string }> = {};
    for (const path of paths) {
      const p = `sh2-${path}`;
      await engine.schedules.upsert(`${p}-s`, hourly(`${p}-q`));
      const event = await sourceWithEvent(`${p}-src`, `${p}-q`);
      fx[path] = { event };
    }
    const cli = async (args: string[]) => {
      const run = await runKeel([...args, "--json"], CLI_ENV);
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout);
    };
    const ok = (res: { statusCode: number; body: string }) => {
      assert.ok(res.statusCode < 300, res.body);
      return JSON.parse(res.body);
    };
    const source = { provider: "github", secrets: ["s"] };
    const env = {};
    const asConfig = configSync("/srv/app/keel.config.yaml");
    // Each path: the operator changes it has (the CLI makes no schedules or sources; the config
    // file makes only those).
    const byPath: Record<Path, (p: string) => Promise<void>> = {
      api: async (p) => {
        ok(await post(`/v1/schedules/${p}-s/pause`, { reason: "drill" }));
        ok(await post(`/v1/schedules/${p}-s/resume`, { backfill: "all" }));
        ok(await post(`/v1/schedules/${p}-s/trigger`));
        const token = ok(await post("/v1/tokens", { name: `${p}-token`, scopes: ["read"] }));
        (fx.api as { token?: string }).token = token.id;
        ok(await send("DELETE", `/v1/tokens/${token.id}`));
        ok(await post(`/v1/events/${fx.api?.event}/replay`));
        ok(await post("/v1/events/replay", { source: `${p}-src` }));
        ok(await send("PUT", `/v1/schedules/${p}-new`, hourly(`${p}-q`)));
        ok(await send("DELETE", `/v1/schedules/${p}-new`));
        ok(await send("PUT", `/v1/sources/${p}-src2`, source));
        ok(await send("DELETE", `/v1/sources/${p}-src2`));
      },
      cli: async (p) => {
        await cli(["schedules", "pause", `${p}-s`, "--reason", "drill"]);
        await cli(["schedules", "resume", `${p}-s`, "--backfill", "all"]);
        await cli(["schedules", "trigger", `${p}-s`]);
        const token = await cli(["tokens", "create", "--name", `${p}-token`, "--scope", "read"]);
        (fx.cli as { token?: string }).token = token.id;
        await cli(["tokens", "revoke", token.id]);
        await cli(["events", "replay", fx.cli?.event as string]);
        await cli(["events", "replay", "--source", `${p}-src`]);
      },
      engine: async (p) => {
        await engine.schedules.pause(`${p}-s`, { reason: "drill" });
        await engine.schedules.resume(`${p}-s`, { backfill: "all" });
        await engine.schedules.trigger(`${p}-s`);
        const token = await engine.tokens.create({ name: `${p}-token`, scopes: ["read"] });
        (fx.engine as { token?: string }).token = token.id;
        await engine.tokens.revoke(token.id);
        await engine.intake.events.replay(fx.engine?.event as string);
        await engine.intake.events.replayMany({ source: `${p}-src` });
        await engine.schedules.upsert(`${p}-new`, hourly(`${p}-q`));
        await engine.schedules.delete(`${p}-new`);
        await engine.intake.sources.put(`${p}-src2`, source, { managedBy: "api" });
        await engine.intake.sources.remove(`${p}-src2`, { managedBy: "api" });
      },
      config: async (p) => {
        await syncSchedules(engine, { schedules: { [`${p}-new`]: hourly(`${p}-q`) } }, asConfig);
        await syncSchedules(engine, { schedules: {} }, asConfig);
        await syncSources(engine, { [`${p}-src2`]: source } as never, env, asConfig);
        await syncSources(engine, {}, env, asConfig);
      },
    };
    for (const path of paths) await byPath[path](`sh2-${path}`);

    const operator = (p: string, path: Path): [string, string][] => [
      ["schedule.pause", `schedule:${p}-s`],
      ["schedule.resume", `schedule:${p}-s`],
      ["schedule.trigger", `schedule:${p}-s`],
      ["token.create", `token:${fx[path]?.token}`],
      ["token.revoke", `token:${fx[path]?.token}`],
      ["event.replay", `event:${fx[path]?.event}`],
      ["event.replay_bulk", `source:${p}-src`],
    ];
    const writes = (p: string): [string, string][] => [
      ["schedule.create", `schedule:${p}-new`],
      ["schedule.delete", `schedule:${p}-new`],
      ["source.put", `source:${p}-src2`],
      ["source.delete", `source:${p}-src2`],
    ];
    const wanted: Record<Path, (p: string, path: Path) => [string, string][]> = {
      api: (p, path) => [...operator(p, path), ...writes(p)],
      cli: operator,
      engine: (p, path) => [...operator(p, path), ...writes(p)],
      config: (p) => writes(p),
    };
    const actors: Record<Path, [string, string | null]> = {
      api: ["api:token:admin", "127.0.0.1"],
      cli: [CLI_ACTOR, hostname()],
      engine: ["engine:keel", null],
      config: ["config:keel.config.yaml", hostname()],
    };
    const seen: Record<string, Map<string, unknown>> = {};
    for (const path of paths) {
      const p = `sh2-${path}`;
      seen[path] = new Map();
      for (const [action, target] of wanted[path](p, path)) {
        const r = await row(action, target);
        assert.deepEqual([r.actor, r.source], actors[path], `${path} ${action}`);
        // Names and ids differ by path; everything else must be equal.
        const s = JSON.stringify(shape(r, target))
          .replaceAll(p, "<p>")
          .replace(/"jobs":\["\d+"\]/, '"jobs":["<job>"]');
        (seen[path] as Map<string, unknown>).set(action, JSON.parse(s));
      }
    }
    for (const path of ["cli", "engine", "config"] as const) {
      for (const [action, shown] of seen[path] as Map<string, unknown>) {
        assert.deepEqual(shown, seen.api?.get(action), `${path} ${action} as the API's`);
      }
    }
    assert.deepEqual(
      [...(seen.api as Map<string, { details: unknown }>)].map(([action, s]) => [action, s.details]),
      [
        ["schedule.pause", { reason: "drill" }],
        ["schedule.resume", { backfill: "all", backfilled: 0 }],
        ["schedule.trigger", { jobs: ["<job>"] }],
        ["token.create", { name: "<p>-token", scopes: ["read"] }],
        ["token.revoke", { name: "<p>-token" }],
        ["event.replay", { jobs: 1 }],
        ["event.replay_bulk", { filter: { source: "<p>-src" }, replayed: 1, skipped: 0, jobs: 1 }],
        ["schedule.create", { cron: "0 * * * *", timezone: "UTC" }],
        ["schedule.delete", null],
        ["source.put", { change: "created", provider: "github", secrets: 1, routes: 0 }],
        ["source.delete", null],
      ],
    );
  });
});
