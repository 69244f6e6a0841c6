import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { requestFingerprint } from "@keel/protocol/json";
import pg from "pg";
import { testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { fingerprint } from "../src/api/idempotency.js";
import { startJobsApi } from "./fixtures/jobs-api.js";
import { guardServerLeaks } from "./helpers.js";

// POST /v1/jobs with an Idempotency-Key (what the SDK's createJob sends): concurrent requests
// begin their keys in one statement and commit their jobs, audit rows and stored responses in
// one transaction per group (decision 063), and each still gets the key's semantics.

const { engine, base, admin, db } = await startJobsApi("jobkeyed");
// After the fixture's closing hooks, so it checks what they left.
guardServerLeaks();
const S = `"${engine.schema}"`;

type Answer = {
  status: number;
  replayed: boolean;
  text: string;
  body: { id?: string; error?: { code: string; message: string } };
};

async function post(job: object, key: string): Promise<Answer> {
  const res = await fetch(`${base}/v1/jobs`, {
    method: "POST",
    body: JSON.stringify(job),
    headers: { "content-type": "application/json", authorization: `Bearer ${admin}`, "idempotency-key": key },
  });
  const text = await res.text();
  return {
    status: res.status,
    replayed: res.headers.get("idempotent-replayed") === "true",
    text,
    body: JSON.parse(text) as Answer["body"],
  };
}

const job = (queue: string, payload: unknown = {}) => ({ queue, target: { handler: "noop" }, payload });

async function count(sql: string, values: unknown[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(sql, values);
  return rows[0]?.n ?? 0;
}
const jobsIn = (queue: string) => count(`select count(*)::int n from ${S}.jobs where queue = $1`, [queue]);
const auditedIn = (queue: string) =>
  count(`select count(*)::int n from ${S}.audit_log where action = 'job.create' and details->>'queue' = $1`, [
    queue,
  ]);

/** Holds `table` against inserts and updates (SHARE mode) in a session of its own until `release`. */
async function lockTable(table: string): Promise<{ release: () => Promise<void> }> {
  const holder = new pg.Client({ connectionString: testDatabaseUrl() });
  await holder.connect();
  await holder.query("begin");
  await holder.query(`lock table ${S}.${table} in share mode`);
  let released: Promise<void> | undefined;
  return {
    release: () => {
      released ??= holder.query("commit").then(() => holder.end());
      return released;
    },
  };
}

async function record(
  key: string,
): Promise<{ state: string; response_status: number | null; response_body: string | null } | undefined> {
  const { rows } = await db.query(
    `select state, response_status, response_body from ${S}.idempotency_keys where scope = 'admin' and key = $1`,
    [key],
  );
  return rows[0];
}

describe("POST /v1/jobs with an Idempotency-Key, grouped", () => {
  test("200 concurrent keyed requests: committed with their responses in fewer transactions than requests; retries replay them", async () => {
    const keys = Array.from({ length: 200 }, () => randomUUID());
    const begins = engine.idempotency.beginGroups;
    const groups = engine.enqueueGroups;
    // Each stage is held until all 200 requests wait at it, so the groups are formed however
    // slowly the requests arrive: the keys' table, then the jobs' table, locked against writes.
    const holdKeys = await lockTable("idempotency_keys");
    const holdJobs = await lockTable("jobs");
    const pending = Promise.all(keys.map((key, i) => post(job("keyed-many", { i }), key)));
    try {
      await waitFor(() => engine.idempotency.beginGroups.items - begins.items === 200, 30_000, "200 begins");
      await holdKeys.release();
      await waitFor(() => engine.enqueueGroups.items - groups.items === 200, 30_000, "200 keyed writes");
    } finally {
      await holdKeys.release();
      await holdJobs.release();
    }
    const answers = await pending;
    assert.deepEqual(
      answers.map((a) => [a.status, a.replayed]),
      answers.map(() => [201, false]),
    );
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 200);
    assert.equal(await jobsIn("keyed-many"), 200);
    assert.equal(await auditedIn("keyed-many"), 200);
    const beganIn = engine.idempotency.beginGroups.flushes - begins.flushes;
    const wroteIn = engine.enqueueGroups.flushes - groups.flushes;
    assert.equal(engine.enqueueGroups.items - groups.items, 200);
    // At most 2 statements of each kind (the group commit's default) were in flight when the
    // stage was held; the rest waited and went in one group (500 at most).
    assert.ok(beganIn <= 3, `${beganIn} statements began 200 keys`);
    assert.ok(wroteIn <= 3, `${wroteIn} transactions wrote 200 keyed jobs`);
    // Each stored response is the one its request got, byte for byte.
    for (const [i, key] of keys.entries()) {
      const stored = await record(key);
      assert.equal(stored?.state, "completed");
      assert.equal(stored?.response_status, 201);
      assert.equal(stored?.response_body, answers[i]?.text);
    }
    const retries = await Promise.all(keys.slice(0, 20).map((key, i) => post(job("keyed-many", { i }), key)));
    retries.forEach((r, i) => {
      assert.equal(r.status, 201);
      assert.equal(r.replayed, true);
      assert.equal(r.text, answers[i]?.text);
    });
    assert.equal(await jobsIn("keyed-many"), 200, "a replay writes no job");
  });

  test("one key twice among concurrent requests: one job; the other is told the first is in flight (or gets its response)", async () => {
    const key = randomUUID();
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => post(job("keyed-twice", { i }), randomUUID())),
      post(job("keyed-twice", { same: true }), key),
      post(job("keyed-twice", { same: true }), key),
    ]);
    const [a, b] = answers.slice(20) as [Answer, Answer];
    const fresh = [a, b].filter((x) => x.status === 201 && !x.replayed);
    assert.equal(fresh.length, 1, JSON.stringify([a, b]));
    const other = a === fresh[0] ? b : a;
    if (other.status === 409) assert.equal(other.body.error?.code, "idempotency_in_flight");
    else assert.deepEqual([other.status, other.replayed, other.text], [201, true, fresh[0]?.text]);
    assert.equal(await jobsIn("keyed-twice"), 21);
  });

  test("keyed requests with one dedupe key in a group: one job; the duplicate's 200 is stored and replayed", async () => {
    const keys = [randomUUID(), randomUUID()];
    const bodies = [
      { ...job("keyed-dedupe", { first: true }), dedupeKey: "order-9" },
      { ...job("keyed-dedupe", { second: true }), dedupeKey: "order-9" },
    ];
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => post(job("keyed-dedupe", { i }), randomUUID())),
      post(bodies[0] as object, keys[0] as string),
      post(bodies[1] as object, keys[1] as string),
    ]);
    const pair = answers.slice(10) as [Answer, Answer];
    assert.deepEqual(pair.map((a) => a.status).sort(), [200, 201]);
    assert.equal(pair[0].body.id, pair[1].body.id);
    assert.equal(await jobsIn("keyed-dedupe"), 11);
    assert.equal(await auditedIn("keyed-dedupe"), 11, "the duplicate writes no job.create row");
    for (const [i, key] of keys.entries()) {
      const again = await post(bodies[i] as object, key);
      assert.deepEqual([again.status, again.replayed, again.text], [pair[i]?.status, true, pair[i]?.text]);
    }
  });

  test("one key with two bodies at once: one job; the other request is refused as a reused key", async () => {
    const key = randomUUID();
    const answers = await Promise.all([
      post(job("keyed-mismatch", { n: 1 }), key),
      post(job("keyed-mismatch", { n: 2 }), key),
      ...Array.from({ length: 10 }, (_, i) => post(job("keyed-mismatch", { i }), randomUUID())),
    ]);
    const [a, b] = answers as [Answer, Answer];
    assert.deepEqual([a.status, b.status].sort(), [201, 422]);
    assert.equal((a.status === 422 ? a : b).body.error?.code, "idempotency_key_reused");
    assert.equal(await jobsIn("keyed-mismatch"), 11);
  });

  test("a job Postgres refuses as bad data in a keyed group: its 400 is stored after the split and replayed; the others commit", async () => {
    // Validation stops every value Postgres is known to refuse, so a trigger plays the bad row
    // (SQLSTATE 22003, a data error: the API's 400).
    await db.query(`create function ${S}.refuse_keyed() returns trigger language plpgsql as $$
      begin if new.payload ? 'poison' then raise exception 'out of range' using errcode = '22003'; end if; return new; end $$`);
    await db.query(
      `create trigger refuse_keyed before insert on ${S}.jobs for each row execute function ${S}.refuse_keyed()`,
    );
    const keys = Array.from({ length: 41 }, () => randomUUID());
    const bodies = keys.map((_, i) => job("keyed-split", i === 20 ? { poison: true } : { i }));
    let answers: Answer[];
    const groups = engine.enqueueGroups;
    try {
      // Held until all 41 wait to be written, so they share groups however they arrive.
      const holdJobs = await lockTable("jobs");
      const pending = Promise.all(keys.map((key, i) => post(bodies[i] as object, key)));
      try {
        await waitFor(() => engine.enqueueGroups.items - groups.items === 41, 30_000, "41 keyed writes");
      } finally {
        await holdJobs.release();
      }
      answers = await pending;
    } finally {
      await db.query(`drop trigger refuse_keyed on ${S}.jobs`);
    }
    const bad = answers[20] as Answer;
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.code, "invalid_argument");
    const others = answers.filter((_, i) => i !== 20);
    assert.deepEqual(
      others.map((a) => a.status),
      others.map(() => 201),
    );
    assert.ok(
      engine.enqueueGroups.flushes - groups.flushes < 41,
      "the group was split, not written one by one",
    );
    assert.equal(await jobsIn("keyed-split"), 40);
    assert.equal(await auditedIn("keyed-split"), 40);
    // Stored after the rollback: the same request fails the same way, without writing.
    assert.equal((await record(keys[20] as string))?.response_status, 400);
    const retry = await post(bodies[20] as object, keys[20] as string);
    assert.deepEqual([retry.status, retry.replayed, retry.text], [400, true, bad.text]);
    assert.equal(await jobsIn("keyed-split"), 40);
  });

  test("a keyed request refused with a 5xx releases its key: the retry runs at once", async () => {
    await post(job("keyed-shut"), randomUUID());
    await engine.switches.set("enqueue:keyed-shut", false);
    const key = randomUUID();
    let refused: Answer;
    try {
      refused = await post(job("keyed-shut", { n: 1 }), key);
    } finally {
      await engine.switches.set("enqueue:keyed-shut", true);
    }
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error?.code, "enqueue_disabled");
    assert.equal(await record(key), undefined, "nothing is kept for a request that wrote nothing");
    const retry = await post(job("keyed-shut", { n: 1 }), key);
    assert.deepEqual([retry.status, retry.replayed], [201, false]);
    assert.equal(await jobsIn("keyed-shut"), 2);
  });

  test("a response that cannot be stored takes its job with it: no job, the key released, the neighbours committed", async () => {
    const poisoned = randomUUID();
    await db.query(`create function ${S}.refuse_finish() returns trigger language plpgsql as $$
      begin if new.key = '${poisoned}' and new.state = 'completed' then raise exception 'cannot store'; end if; return new; end $$`);
    await db.query(
      `create trigger refuse_finish before update on ${S}.idempotency_keys for each row execute function ${S}.refuse_finish()`,
    );
    const keys = [
      ...Array.from({ length: 15 }, () => randomUUID()),
      poisoned,
      ...Array.from({ length: 15 }, () => randomUUID()),
    ];
    let answers: Answer[];
    try {
      answers = await Promise.all(keys.map((key, i) => post(job("keyed-atomic", { i }), key)));
    } finally {
      await db.query(`drop trigger refuse_finish on ${S}.idempotency_keys`);
    }
    const bad = answers[15] as Answer;
    assert.equal(bad.status, 500);
    assert.equal(
      await count(
        `select count(*)::int n from ${S}.jobs where queue = 'keyed-atomic' and payload = '{"i":15}'`,
        [],
      ),
      0,
      "the job of the response that was not stored was rolled back",
    );
    assert.equal(
      await record(poisoned),
      undefined,
      "a 5xx is not stored, and the key is released: a retry runs again",
    );
    assert.equal(await jobsIn("keyed-atomic"), 30);
    for (const key of keys.filter((k) => k !== poisoned))
      assert.equal((await record(key))?.state, "completed");
  });
});

test("the server's fingerprint (node:crypto) is the protocol's (WebCrypto), which the SDK's middleware computes", async () => {
  const bodies = [
    undefined,
    null,
    { b: 1, a: [true, { d: null, c: "x" }] },
    { payload: { text: "naïve ☃ 𝄞", n: -0.5e-7 }, target: { handler: "h" }, skipped: undefined },
    "a raw string",
  ];
  for (const body of bodies) {
    const path = "/v1/jobs";
    assert.equal(
      fingerprint({ method: "post", path, body }),
      await requestFingerprint({ method: "post", url: path, body: body ?? null }),
      JSON.stringify(body),
    );
  }
});
