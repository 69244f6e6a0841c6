import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Engine, isKeelError } from "../src/index.js";
import { guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();

async function count(table: string): Promise<number> {
  const res = await engine.pool.query(`select count(*)::int as n from "${engine.schema}".${table}`);
  return res.rows[0].n;
}

describe("enqueue", () => {
  test("stores one job and reports it available", async () => {
    const res = await engine.enqueue({ queue: "e1", target: { handler: "h" }, payload: { a: 1 } });
    assert.match(res.id, /^\d+$/);
    assert.equal(res.state, "available");
    assert.equal(res.deduplicated, false);
    const job = await engine.getJob(res.id);
    assert.deepEqual(job.payload, { a: 1 });
    assert.equal(job.queue, "e1");
    assert.equal(job.attempt, 0);
    assert.equal(job.maxAttempts, 10);
  });

  test("a delayed job is scheduled; runAt in the past is available", async () => {
    const later = await engine.enqueue({ queue: "e1", target: { handler: "h" }, delayMs: 60_000 });
    assert.equal(later.state, "scheduled");
    const job = await engine.getJob(later.id);
    const ahead = job.runAt.getTime() - Date.now();
    assert.ok(ahead > 55_000 && ahead < 65_000, `run_at ${ahead} ms ahead`);
    const past = await engine.enqueue({
      queue: "e1",
      target: { handler: "h" },
      runAt: new Date(Date.now() - 1000),
    });
    assert.equal(past.state, "available");
  });

  test("a batch is one round trip and results keep input order", async () => {
    const inputs = Array.from({ length: 500 }, (_, i) => ({
      queue: "batch",
      target: { handler: "h" },
      payload: { i },
      priority: i % 3,
    }));
    const results = await engine.enqueueMany(inputs);
    assert.equal(results.length, 500);
    const stored = await engine.pool.query<{ id: string; i: number }>(
      `select id::text, (payload->>'i')::int as i from "${engine.schema}".jobs where id = any($1::bigint[])`,
      [results.map((r) => r.id)],
    );
    const byId = new Map(stored.rows.map((r) => [r.id, r.i]));
    assert.deepEqual(
      results.map((r) => byId.get(r.id)),
      inputs.map((_, i) => i),
      "each result names the job of its input",
    );
    assert.equal(new Set(results.map((r) => r.id)).size, 500);
    // Ids follow input order, so jobs of one batch run in the order given.
    const ids = results.map((r) => BigInt(r.id));
    assert.ok(
      ids.every((id, i) => i === 0 || id > (ids[i - 1] as bigint)),
      "ids increase in input order",
    );
  });

  test("http targets are stored with method and headers", async () => {
    const r = await engine.enqueue({
      queue: "hooks",
      target: { url: "https://example.com/x", method: "PUT", headers: { Authorization: "Bearer ${SECRET}" } },
    });
    const job = await engine.getJob(r.id);
    assert.deepEqual(job.target, {
      url: "https://example.com/x",
      method: "PUT",
      headers: { Authorization: "Bearer ${SECRET}" },
    });
  });
});

describe("group commit of single enqueues", () => {
  test("close() answers the calls already made before it ends the pool", async () => {
    const own = await testEngine();
    await own.enqueue({ queue: "g1", target: { handler: "h" } });
    const calls = Array.from({ length: 20 }, (_, i) =>
      own.enqueue({ queue: "g1", target: { handler: "h" }, payload: { i } }),
    );
    await own.close();
    const results = await Promise.all(calls);
    assert.equal(new Set(results.map((r) => r.id)).size, 20);
  });

  test("a switched-off queue refuses its own calls; the other queue's calls of the group are written", async () => {
    await engine.enqueue({ queue: "g-open", target: { handler: "h" } });
    await engine.enqueue({ queue: "g-shut", target: { handler: "h" } });
    await engine.switches.set("enqueue:g-shut", false);
    try {
      const before = engine.enqueueGroups.flushes;
      const results = await Promise.allSettled(
        ["g-open", "g-shut", "g-open"].map((queue) => engine.enqueue({ queue, target: { handler: "h" } })),
      );
      assert.equal(engine.enqueueGroups.flushes - before, 1);
      assert.equal(results[0]?.status, "fulfilled");
      assert.equal(results[2]?.status, "fulfilled");
      const refused = results[1] as PromiseRejectedResult;
      assert.ok(isKeelError(refused.reason) && refused.reason.code === "enqueue_disabled");
    } finally {
      await engine.switches.set("enqueue:g-shut", true);
    }
  });
});

describe("dedupe keys", () => {
  test("a second enqueue with the key of an unfinished job returns that job", async () => {
    const a = await engine.enqueue({ queue: "d", target: { handler: "h" }, dedupeKey: "k1", payload: 1 });
    const b = await engine.enqueue({ queue: "d", target: { handler: "h" }, dedupeKey: "k1", payload: 2 });
    assert.equal(b.id, a.id);
    assert.equal(b.deduplicated, true);
    assert.deepEqual((await engine.getJob(a.id)).payload, 1);
    // The same key in another queue is another job.
    const c = await engine.enqueue({ queue: "d2", target: { handler: "h" }, dedupeKey: "k1" });
    assert.notEqual(c.id, a.id);
  });

  test("duplicates inside one batch collapse to the first", async () => {
    const [x, y, z] = await engine.enqueueMany([
      { queue: "d", target: { handler: "h" }, dedupeKey: "batch-k" },
      { queue: "d", target: { handler: "h" }, dedupeKey: "batch-k" },
      { queue: "d", target: { handler: "h" } },
    ]);
    assert.equal(y?.id, x?.id);
    assert.equal(y?.deduplicated, true);
    assert.notEqual(z?.id, x?.id);
  });

  test("fifty concurrent enqueues with one key make one job", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        engine.enqueue({ queue: "race", target: { handler: "h" }, dedupeKey: "same" }),
      ),
    );
    const ids = new Set(results.map((r) => r.id));
    assert.equal(ids.size, 1);
    assert.equal(results.filter((r) => !r.deduplicated).length, 1);
    const rows = await engine.pool.query(
      `select count(*)::int n from "${engine.schema}".jobs where queue = 'race'`,
    );
    assert.equal(rows.rows[0].n, 1);
  });

  test("the key is free again once the job finished", async () => {
    const a = await engine.enqueue({ queue: "free", target: { handler: "h" }, dedupeKey: "k" });
    await engine.cancel(a.id);
    const b = await engine.enqueue({ queue: "free", target: { handler: "h" }, dedupeKey: "k" });
    assert.notEqual(b.id, a.id);
    assert.equal(b.deduplicated, false);
  });
});

describe("bad input", () => {
  const cases: [string, unknown, string, RegExp][] = [
    [
      "unknown option",
      { target: { handler: "h" }, retries: 3 },
      "unknown_option",
      /Unknown option 'retries'/,
    ],
    ["unknown target option", { target: { handler: "h", x: 1 } }, "unknown_option", /target\.x|'x'/],
    [
      "negative delay",
      { target: { handler: "h" }, delayMs: -5 },
      "invalid_argument",
      /delayMs: must not be negative/,
    ],
    [
      "maxAttempts below one",
      { target: { handler: "h" }, maxAttempts: 0 },
      "invalid_argument",
      /maxAttempts: must be at least 1/,
    ],
    [
      "bigint payload",
      { target: { handler: "h" }, payload: { n: 1n } },
      "payload_not_serializable",
      /payload\.n/,
    ],
    [
      "function payload",
      { target: { handler: "h" }, payload: [() => 1] },
      "payload_not_serializable",
      /payload\[0\]/,
    ],
    [
      "NaN payload",
      { target: { handler: "h" }, payload: { x: Number.NaN } },
      "payload_not_serializable",
      /NaN/,
    ],
    ["Map payload", { target: { handler: "h" }, payload: new Map() }, "payload_not_serializable", /Map/],
    ["no target", { queue: "x" }, "invalid_target", /target/],
    ["url not http", { target: { url: "ftp://x" } }, "invalid_target", /http\(s\) URL/],
    ["bad queue name", { queue: "no spaces", target: { handler: "h" } }, "invalid_argument", /queue/],
    ["handler name reserved", { target: { handler: "@http" } }, "invalid_target", /handler/],
    [
      "delay and runAt",
      { target: { handler: "h" }, delayMs: 1, runAt: new Date() },
      "invalid_argument",
      /either/,
    ],
  ];
  for (const [name, input, code, message] of cases) {
    test(name, async () => {
      await assert.rejects(
        engine.enqueue(input as never),
        (err: unknown) => isKeelError(err, code as never) && message.test((err as Error).message),
      );
    });
  }

  test("strings Postgres cannot store and absurd nesting are refused before the database", async () => {
    const deep: unknown[] = [];
    let cursor = deep;
    for (let i = 0; i < 100_000; i++) {
      const next: unknown[] = [];
      cursor.push(next);
      cursor = next;
    }
    const cases: [unknown, string, RegExp][] = [
      [
        { target: { handler: "h" }, payload: { note: "a\u0000b" } },
        "payload_not_serializable",
        /payload\.note: a NUL/,
      ],
      [{ target: { handler: "h" }, payload: ["\uD800"] }, "payload_not_serializable", /payload\[0\]/],
      [
        { target: { handler: "h" }, payload: { "k\u0000": 1 } },
        "payload_not_serializable",
        /a key holds a NUL/,
      ],
      [
        { target: { handler: "h" }, payload: deep },
        "payload_not_serializable",
        /nested deeper than 64 levels/,
      ],
      [{ target: { handler: "h" }, dedupeKey: "x\u0000" }, "invalid_argument", /dedupeKey: contains a NUL/],
      [
        { target: { url: "https://x.example", headers: { a: "\uDC00" } } },
        "invalid_target",
        /Postgres cannot store/,
      ],
    ];
    for (const [input, code, message] of cases) {
      await assert.rejects(
        engine.enqueue(input as never),
        (err: unknown) => isKeelError(err, code as never) && message.test((err as Error).message),
        String(message),
      );
    }
  });

  test("a cyclic payload is rejected", async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(engine.enqueue({ target: { handler: "h" }, payload: cyclic }), (err: unknown) =>
      isKeelError(err, "payload_not_serializable"),
    );
  });

  test("a payload over the limit is rejected with the size and the limit", async () => {
    const small = await testEngine({ payloadLimitBytes: 1000 });
    await assert.rejects(
      small.enqueue({ target: { handler: "h" }, payload: "x".repeat(2000) }),
      (err: unknown) =>
        isKeelError(err, "payload_too_large") && /2002 bytes; the limit is 1000/.test((err as Error).message),
    );
  });

  test("one invalid job in a batch writes nothing", async () => {
    const before = await count("jobs");
    await assert.rejects(
      engine.enqueueMany([
        { queue: "atomic", target: { handler: "h" } },
        { queue: "atomic", target: { handler: "h" }, maxAttempts: -1 },
      ]),
    );
    assert.equal(await count("jobs"), before);
  });
});
