import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { startJobsApi } from "./fixtures/jobs-api.js";
import { guardServerLeaks } from "./helpers.js";

// POST /v1/jobs group-commits concurrent requests (decision 055): fewer transactions than
// requests, and each request still answered on its own (errors, duplicates, switches).

// Its own application name: the test finds the engine's sessions in pg_stat_activity by it.
const applicationName = `keel-jobgroup-${randomBytes(4).toString("hex")}`;
const { engine, base, admin, db } = await startJobsApi("jobgroup", { applicationName });
// After the fixture's closing hooks, so it checks what they left.
guardServerLeaks();

type Answer = {
  status: number;
  body: { id?: string; deduplicated?: boolean; error?: { code: string; message: string } };
};

async function post(job: object, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${base}/v1/jobs`, {
    method: "POST",
    body: JSON.stringify(job),
    headers: { "content-type": "application/json", authorization: `Bearer ${admin}`, ...headers },
  });
  return { status: res.status, body: (await res.json()) as Answer["body"] };
}

async function jobsIn(queue: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from "${engine.schema}".jobs where queue = $1`,
    [queue],
  );
  return rows[0]?.n ?? 0;
}

async function auditedJobs(queue: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from "${engine.schema}".audit_log where action = 'job.create' and details->>'queue' = $1`,
    [queue],
  );
  return rows[0]?.n ?? 0;
}

const job = (queue: string, payload: unknown = {}, extra: object = {}) => ({
  queue,
  target: { handler: "noop" },
  payload,
  ...extra,
});

describe("POST /v1/jobs group commit", () => {
  test("200 concurrent requests: all committed and audited, in fewer transactions than requests", async () => {
    const before = engine.enqueueGroups;
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => post(job("many", { i }))));
    assert.deepEqual(
      answers.map((a) => a.status),
      answers.map(() => 201),
    );
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 200);
    assert.equal(await jobsIn("many"), 200);
    assert.equal(await auditedJobs("many"), 200);
    const after = engine.enqueueGroups;
    assert.equal(after.items - before.items, 200);
    assert.ok(
      after.flushes - before.flushes < 200,
      `${after.flushes - before.flushes} transactions for 200 requests`,
    );
  });

  test("a job Postgres refuses among good ones: only its request fails, the others are committed", async () => {
    // Validation stops every value Postgres is known to refuse, so a trigger plays the bad row.
    await db.query(`create function "${engine.schema}".refuse_poison() returns trigger language plpgsql as $$
      begin if new.payload ? 'poison' then raise exception 'poisoned job'; end if; return new; end $$`);
    await db.query(`create trigger refuse_poison before insert on "${engine.schema}".jobs
      for each row execute function "${engine.schema}".refuse_poison()`);
    const good = Array.from({ length: 60 }, (_, i) => job("mixed", { i }));
    let answers: Answer[];
    try {
      answers = await Promise.all([
        ...good.slice(0, 30).map((j) => post(j)),
        post(job("mixed", { poison: true })),
        ...good.slice(30).map((j) => post(j)),
      ]);
    } finally {
      await db.query(`drop trigger refuse_poison on "${engine.schema}".jobs`);
    }
    const bad = answers[30] as Answer;
    assert.equal(bad.status, 500);
    assert.equal(bad.body.error?.code, "internal_error");
    assert.match(bad.body.error?.message ?? "", /poisoned job/);
    const others = answers.filter((_, i) => i !== 30);
    assert.deepEqual(
      others.map((a) => a.status),
      others.map(() => 201),
    );
    assert.equal(await jobsIn("mixed"), 60);
    assert.equal(await auditedJobs("mixed"), 60);
  });

  test("one dedupe key twice among concurrent requests: one job; the other request answered as its duplicate", async () => {
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => post(job("dedupe", { i }))),
      post(job("dedupe", { first: true }, { dedupeKey: "order-7" })),
      post(job("dedupe", { second: true }, { dedupeKey: "order-7" })),
    ]);
    const [a, b] = answers.slice(20) as [Answer, Answer];
    assert.deepEqual([a.status, b.status].sort(), [200, 201]);
    assert.equal(a.body.id, b.body.id);
    assert.deepEqual([a.body.deduplicated, b.body.deduplicated].sort(), [false, true]);
    assert.equal(await jobsIn("dedupe"), 21);
    assert.equal(await auditedJobs("dedupe"), 21);
  });

  test("an enqueue switch off for one queue refuses its requests only; the other queue's are committed", async () => {
    await post(job("open"));
    await post(job("shut"));
    await engine.switches.set("enqueue:shut", false);
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(job(i % 2 === 0 ? "open" : "shut", { i }))),
      );
      answers.forEach((a, i) => {
        if (i % 2 === 0) assert.equal(a.status, 201);
        else {
          assert.equal(a.status, 503);
          assert.equal(a.body.error?.code, "enqueue_disabled");
        }
      });
      assert.equal(await jobsIn("open"), 21);
      assert.equal(await jobsIn("shut"), 1);
    } finally {
      await engine.switches.set("enqueue:shut", true);
    }
  });

  test("Postgres fails a group after its jobs were inserted: every request of it gets an error envelope, nothing is written", async () => {
    await post(job("broken"));
    // The audit rows are written after the jobs: a trigger holds each group's audit insert
    // there, with its jobs inserted, until the test cancels the statement (SQLSTATE 57014).
    const schema = engine.schema;
    await db.query(`create function "${schema}".hold_broken() returns trigger language plpgsql as $$
      begin if new.details->>'queue' = 'broken' then perform pg_sleep(60); end if; return new; end $$`);
    await db.query(`create trigger hold_broken before insert on "${schema}".audit_log
      for each row execute function "${schema}".hold_broken()`);
    let answers: Answer[];
    let cancelled = 0;
    try {
      let settled = 0;
      const pending = Array.from({ length: 30 }, (_, i) =>
        post(job("broken", { i })).finally(() => {
          settled++;
        }),
      );
      while (settled < pending.length) {
        const { rows } = await db.query<{ n: number }>(
          `select count(pg_cancel_backend(pid))::int as n from pg_stat_activity
           where datname = current_database() and wait_event = 'PgSleep' and application_name = $1`,
          [applicationName],
        );
        cancelled += rows[0]?.n ?? 0;
        await new Promise((r) => setTimeout(r, 20));
      }
      answers = await Promise.all(pending);
    } finally {
      await db.query(`drop trigger hold_broken on "${schema}".audit_log`);
    }
    assert.ok(cancelled > 0);
    for (const a of answers) {
      assert.ok(a.status >= 500, `status ${a.status}`);
      assert.equal(typeof a.body.error?.code, "string");
      assert.equal(typeof a.body.error?.message, "string");
    }
    assert.equal(await jobsIn("broken"), 1);
    assert.equal(await auditedJobs("broken"), 1);
  });
});

describe("engine.enqueue group commit", () => {
  test("calls made in one turn share one transaction; duplicates within it resolve to the first job", async () => {
    await engine.enqueue(job("same-turn"));
    const before = engine.enqueueGroups;
    const [a, b, c] = await Promise.all([
      engine.enqueue({ ...job("same-turn", { n: 1 }), dedupeKey: "k" }),
      engine.enqueue({ ...job("same-turn", { n: 2 }), dedupeKey: "k" }),
      engine.enqueue(job("same-turn", { n: 3 })),
    ]);
    assert.equal(engine.enqueueGroups.flushes - before.flushes, 1);
    assert.equal(a?.id, b?.id);
    assert.deepEqual([a?.deduplicated, b?.deduplicated, c?.deduplicated], [false, true, false]);
    const stored = await engine.getJob(a?.id as string);
    assert.deepEqual(stored.payload, { n: 1 });
  });
});
