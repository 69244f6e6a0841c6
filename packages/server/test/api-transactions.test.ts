import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { describe, test } from "node:test";
import Fastify from "fastify";
import type { AuditRecord, Engine } from "../../engine/src/index.js";
import { guardLeaks, onCleanup, testDatabaseUrl, testEngine } from "../../engine/test/helpers.js";
import { registerApi } from "../src/api/index.js";
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
  return app.inject({
    method: "POST",
    url,
    headers: { authorization: `Bearer ${admin}`, ...(key ? { "idempotency-key": key } : {}) },
    ...(payload ? { payload } : {}),
  });
}

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
  test("a failure to store the response leaves no job, and the retry makes exactly one", async () => {
    const job = { queue: "idem-finish", target: { handler: "work" }, payload: { order: 1 } };
    // The record's update to 'completed' fails: the statement after the enqueue.
    const restore = await failWrites("idempotency_keys", "new.state = 'completed'", "update");
    const failed = await post("/v1/jobs", job, "order-1");
    await restore();
    assert.equal(failed.statusCode, 500, failed.body);
    assert.equal(await jobCount("idem-finish"), 0, "the enqueue rolled back with the record");

    // While the first request's lock lasts, a retry is told to wait…
    assert.equal((await post("/v1/jobs", job, "order-1")).statusCode, 409);
    // …and once it has lapsed (back-dated here, not waited for) the retry runs, once.
    await engine.pool.query(`update ${S}.idempotency_keys set locked_until = now() - interval '1 second'`);
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
    assert.deepEqual(rows, [{ state: "started" }], "the response was not stored with the failure");
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
});
