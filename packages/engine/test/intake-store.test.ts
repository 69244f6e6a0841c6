import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import {
  type AcceptInput,
  GroupCommit,
  isKeelError,
  KeelError,
  runRetention,
  type Source,
} from "../src/index.js";
import { failForGood, guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine = await testEngine();

const url = "https://app.example.com/hooks";
await engine.intake.sources.put(
  "billing",
  {
    provider: "stripe",
    secrets: ["${STRIPE_TEST_SECRET}"],
    routes: [
      { events: ["customer.subscription.*"], target: { url: `${url}/subs` }, queue: "subs" },
      { events: ["invoice.paid", "invoice.payment_failed"], target: { url: `${url}/invoices` } },
      { events: ["*"], target: { handler: "audit" }, queue: "audit" },
    ],
  },
  { managedBy: "api" },
);
const billing = await engine.intake.sources.get("billing");

function event(eventId: string, type: string | null, source: Source = billing): AcceptInput {
  const body = Buffer.from(JSON.stringify({ id: eventId, type }));
  return {
    source,
    eventId,
    type,
    contentType: "application/json",
    headers: { "stripe-signature": "t=1,v1=00" },
    body,
    verification: { provider: "stripe", secret: 1 },
  };
}

describe("sources", () => {
  test("a bad definition is refused naming the field, and nothing is saved", async () => {
    const cases: [unknown, RegExp][] = [
      [{ provider: "paypal", secrets: ["x"] }, /provider: unknown provider: use one of stripe, standard/],
      [{ provider: "github", secrets: [] }, /secrets: give at least one secret/],
      [
        { provider: "github", secrets: ["s"], routes: [{ events: ["invoice paid"], target: { url } }] },
        /routes\[0\]\.events\[0\]: an event type pattern/,
      ],
      [
        { provider: "github", secrets: ["s"], routes: [{ target: { url: "ftp://x" } }] },
        /routes\[0\]\.target: .*absolute http\(s\) URL/,
      ],
      [{ provider: "hmac", secrets: ["s"] }, /hmac: the hmac provider needs hmac/],
      [
        { provider: "hmac", secrets: ["s"], hmac: { header: "x-sig", signed: "{timestamp}.{body}" } },
        /hmac\.signed: use \{timestamp\} exactly when timestampHeader is set/,
      ],
      [{ provider: "github", secrets: ["s"], toleranceSeconds: 60 }, /toleranceSeconds: applies only where/],
      [{ provider: "standard", secrets: ["not-whsec"] }, /secrets\[0\]: a Standard Webhooks/],
      [{ provider: "github", secrets: ["s"], colour: "red" }, /unknown key colour/],
    ];
    for (const [definition, message] of cases) {
      await assert.rejects(
        engine.intake.sources.put("broken", definition, { managedBy: "api" }),
        (err: unknown) => isKeelError(err, "invalid_source") && message.test(err.message),
        String(message),
      );
    }
    await assert.rejects(engine.intake.sources.get("broken"), (err) => isKeelError(err, "source_not_found"));
  });

  test("an identical write changes nothing; the API cannot change a source the config file owns", async () => {
    const def = { provider: "github", secrets: ["${GH_SECRET}"], routes: [{ target: { url } }] };
    const first = await engine.intake.sources.put("gh", def, { managedBy: "config" });
    assert.equal(first.change, "created");
    assert.deepEqual(first.source.routes, [{ events: ["*"], target: { url }, queue: "intake" }]);
    const again = await engine.intake.sources.put("gh", def, { managedBy: "config" });
    assert.equal(again.change, "unchanged");
    assert.equal(again.source.updatedAt.getTime(), first.source.updatedAt.getTime());
    await assert.rejects(
      engine.intake.sources.put("gh", { ...def, secrets: ["other"] }, { managedBy: "api" }),
      (err) => isKeelError(err, "source_managed_by_config"),
    );
    await assert.rejects(engine.intake.sources.remove("gh", { managedBy: "api" }), (err) =>
      isKeelError(err, "source_managed_by_config"),
    );
    assert.deepEqual((await engine.intake.sources.get("gh")).secrets, ["${GH_SECRET}"]);
    const changed = await engine.intake.sources.put(
      "gh",
      { ...def, retentionSeconds: 7200 },
      { managedBy: "config" },
    );
    assert.equal(changed.change, "updated");
    await engine.intake.sources.remove("gh", { managedBy: "config" });
    await assert.rejects(engine.intake.sources.get("gh"), (err) => isKeelError(err, "source_not_found"));
  });
});

describe("accepting events", () => {
  test("concurrent copies of events: each stored once, one job per matching route, duplicates point at it", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `evt_${i}_${randomBytes(4).toString("hex")}`);
    const calls = ids.flatMap((id, i) =>
      Array.from({ length: 10 }, () => event(id, i % 2 ? "customer.subscription.updated" : "invoice.paid")),
    );
    const results = await Promise.all(calls.map((c) => engine.intake.events.accept(c)));
    for (const id of ids) {
      const mine = results.filter((_, i) => calls[i]?.eventId === id);
      assert.equal(mine.filter((r) => !r.duplicate).length, 1, `one original of ${id}`);
      assert.equal(new Set(mine.map((r) => r.id)).size, 1, `every copy of ${id} answers the same id`);
      assert.ok(mine.every((r) => r.duplicate || r.jobs === 2));
    }
    const stored = await engine.pool.query(
      `select count(*)::int as n from "${engine.schema}".events where event_id = any($1)`,
      [ids],
    );
    assert.equal(stored.rows[0].n, 20);
    const original = results.find((r) => !r.duplicate);
    assert.ok(original);
    const record = await engine.intake.events.get(original.id);
    assert.equal(record.deliveries.length, 2);
    for (const job of record.deliveries) {
      assert.deepEqual(job.origin, { source: "billing", event: original.id });
    }
    assert.equal(record.status, "pending");
    assert.equal(record.jobsCreated, 2);
  });

  test("one batch's bodies and headers are stored each exactly as sent: binary, empty, large, quoted", async () => {
    // A batch sends its bodies end to end in one binary parameter and its headers as one JSON
    // array (decision 065): each event must get back exactly its own bytes.
    const tag = randomBytes(4).toString("hex");
    const bodies = [
      randomBytes(300), // every byte value, NULs and invalid UTF-8 included
      Buffer.alloc(0),
      Buffer.from(`{"a":"${"x".repeat(200_000)}"}`),
      Buffer.from(String.raw`{"quote":"\"","backslash":"\\","emoji":"\u00e9 🚀"}`),
      Buffer.from([0x5c, 0x78, 0x30, 0x30]), // the text \x00: hex-looking, not hex
    ];
    const headers = [
      { "stripe-signature": 't=1,v1="00"' },
      { "stripe-signature": "t=1,v1=00", "x-note": "back\\slash, {braces}, [brackets]" },
      { "stripe-signature": "t=1,v1=00", "x-unicode": "é 🚀" },
      {},
      { "stripe-signature": "t=1,v1=00" },
    ];
    const inputs = bodies.map((body, i) => ({
      ...event(`evt_bytes_${tag}_${i}`, "invoice.paid"),
      body,
      headers: headers[i] as Record<string, string>,
    }));
    const results = await Promise.all(inputs.map((input) => engine.intake.events.accept(input)));
    for (const [i, r] of results.entries()) {
      const stored = await engine.intake.events.payload(r.id);
      assert.ok(stored, `event ${i} stored`);
      assert.ok(stored.body.equals(bodies[i] as Buffer), `event ${i}: its own bytes`);
      assert.deepEqual(stored.headers, headers[i], `event ${i}: its own headers`);
    }
  });

  test("headers or verification that are not objects are refused alone, before joining a batch", async () => {
    const tag = randomBytes(4).toString("hex");
    const good = event(`evt_ok_${tag}`, "invoice.paid");
    const bad = [
      { ...event(`evt_nohdr_${tag}`, "invoice.paid"), headers: undefined },
      { ...event(`evt_arr_${tag}`, "invoice.paid"), verification: [] },
      { ...event(`evt_str_${tag}`, "invoice.paid"), body: "not bytes" },
    ] as unknown as AcceptInput[];
    const settled = await Promise.allSettled(
      [good, ...bad].map((input) => engine.intake.events.accept(input)),
    );
    assert.equal(settled[0]?.status, "fulfilled");
    for (const s of settled.slice(1)) {
      assert.equal(s.status, "rejected");
      assert.ok(isKeelError((s as PromiseRejectedResult).reason, "invalid_argument"));
    }
  });

  test("one batch with a copy of a stored event, a new event twice and another new event", async () => {
    const tag = randomBytes(4).toString("hex");
    const earlier = await engine.intake.events.accept(event(`old_${tag}`, "invoice.paid"));
    // Submitted in one turn of the event loop: one batch, one statement.
    const [again, first, copy, other] = await Promise.all(
      [
        event(`old_${tag}`, "invoice.paid"),
        event(`new_${tag}`, "customer.subscription.created"),
        event(`new_${tag}`, "customer.subscription.created"),
        event(`other_${tag}`, "invoice.created"),
      ].map((e) => engine.intake.events.accept(e)),
    );
    assert.deepEqual(again, { id: earlier.id, duplicate: true, jobs: 0 });
    assert.equal(first?.duplicate, false);
    assert.equal(first?.jobs, 2);
    assert.deepEqual(copy, { id: first?.id, duplicate: true, jobs: 0 });
    assert.equal(other?.duplicate, false);
    assert.equal(other?.jobs, 1);
    const jobs = await engine.pool.query<{ event: string; queue: string }>(
      `select origin->>'event' as event, queue from "${engine.schema}".jobs
       where origin->>'event' = any($1) order by queue`,
      [[earlier.id, first?.id, other?.id]],
    );
    assert.deepEqual(
      jobs.rows.map((r) => [r.event, r.queue]),
      [
        [earlier.id, "audit"],
        [first?.id, "audit"],
        [other?.id, "audit"],
        [earlier.id, "intake"],
        [first?.id, "subs"],
      ],
      "the copies made no jobs; each new event its own, pointing at it",
    );
    const stored = await engine.pool.query(
      `select event_id, jobs_created from "${engine.schema}".events where event_id like $1 order by event_id`,
      [`%_${tag}`],
    );
    assert.deepEqual(
      stored.rows.map((r) => [r.event_id, r.jobs_created]),
      [
        [`new_${tag}`, 2],
        [`old_${tag}`, 2],
        [`other_${tag}`, 1],
      ],
    );
  });

  test("routing: wildcards match across dots, exact types only themselves, no type only *", async () => {
    const cases: [string | null, string[]][] = [
      ["customer.subscription.trial_will_end", ["subs", "audit"]],
      ["invoice.payment_failed", ["intake", "audit"]],
      ["invoice.created", ["audit"]],
      [null, ["audit"]],
    ];
    for (const [type, queues] of cases) {
      const { id, jobs } = await engine.intake.events.accept(
        event(`evt_${randomBytes(6).toString("hex")}`, type),
      );
      assert.equal(jobs, queues.length, String(type));
      const made = await engine.intake.events.jobs(id);
      assert.deepEqual(made.map((j) => j.queue).sort(), [...queues].sort(), String(type));
    }
  });

  test("a source without a matching route stores the event as unrouted", async () => {
    const { source: quiet } = await engine.intake.sources.put(
      "quiet",
      { provider: "github", secrets: ["s"], routes: [{ events: ["push"], target: { url } }] },
      { managedBy: "api" },
    );
    const { id, jobs } = await engine.intake.events.accept(event("d-1", "issues", quiet));
    assert.equal(jobs, 0);
    assert.equal((await engine.intake.events.get(id)).status, "unrouted");
  });

  test("a switched-off queue refuses the events routed to it, and only those", async () => {
    await engine.switches.set("enqueue:subs", false, { actor: "test" });
    try {
      const [blocked, fine] = await Promise.allSettled([
        engine.intake.events.accept(event("evt_blocked", "customer.subscription.created")),
        engine.intake.events.accept(event("evt_fine", "invoice.paid")),
      ]);
      assert.equal(blocked.status, "rejected");
      assert.ok(isKeelError((blocked as PromiseRejectedResult).reason, "enqueue_disabled"));
      assert.equal(fine.status, "fulfilled");
      const stored = await engine.pool.query(
        `select event_id from "${engine.schema}".events where event_id in ('evt_blocked', 'evt_fine')`,
      );
      assert.deepEqual(
        stored.rows.map((r) => r.event_id),
        ["evt_fine"],
      );
    } finally {
      await engine.switches.set("enqueue:subs", true, { actor: "test" });
    }
  });
});

describe("status, listing and replay", () => {
  test("status follows the latest routing's jobs; replay routes again and resets it", async () => {
    await engine.intake.sources.put(
      "single",
      { provider: "github", secrets: ["s"], routes: [{ target: { handler: "h" }, queue: "single" }] },
      { managedBy: "api" },
    );
    const single = await engine.intake.sources.get("single");
    const { id } = await engine.intake.events.accept(event("gh-1", "push", single));
    assert.equal((await engine.intake.events.get(id)).status, "pending");
    await failForGood(engine, "single", 1);
    assert.equal((await engine.intake.events.get(id)).status, "failed");
    const failed = await engine.intake.events.list({ source: "single", status: "failed" });
    assert.deepEqual(
      failed.map((e) => e.id),
      [id],
    );

    const replay = await engine.intake.events.replay(id);
    assert.equal(replay.jobs.length, 1);
    const after = await engine.intake.events.get(id);
    assert.equal(after.status, "pending", "the dead job of the first routing no longer counts");
    assert.equal(after.replays, 1);
    assert.equal(after.deliveries.length, 2);
    const [job] = await engine.claim({
      queue: "single",
      handlers: ["h"],
      limit: 1,
      leaseMs: 60_000,
      workerId: "w",
      limited: false,
    });
    assert.ok(job);
    await engine.complete([job]);
    assert.equal((await engine.intake.events.get(id)).status, "delivered");
  });

  test("bulk replay by filter, in pages of one transaction, with progress and a cursor at the limit", async () => {
    const { source } = await engine.intake.sources.put(
      "bulk",
      { provider: "github", secrets: ["s"], routes: [{ target: { handler: "h" }, queue: "bulk" }] },
      { managedBy: "api" },
    );
    for (let i = 0; i < 450; i += 150) {
      await Promise.all(
        Array.from({ length: 150 }, (_, j) =>
          engine.intake.events.accept(event(`b-${i + j}`, "push", source)),
        ),
      );
    }
    await engine.intake.events.accept(event("b-other", "issues", source));
    const progress: number[] = [];
    const first = await engine.intake.events.replayMany(
      { source: "bulk", type: "pu*" },
      { limit: 300, onProgress: (n) => progress.push(n) },
    );
    assert.equal(first.replayed, 300);
    assert.equal(first.jobs, 300);
    assert.deepEqual(progress, [200, 300]);
    assert.ok(first.nextCursor);
    const rest = await engine.intake.events.replayMany({
      source: "bulk",
      type: "pu*",
      before: first.nextCursor,
    });
    assert.equal(rest.replayed, 150);
    assert.equal(rest.nextCursor, null);
    const replays = await engine.pool.query(
      `select replays, count(*)::int as n from "${engine.schema}".events where source = 'bulk' group by replays order by replays`,
    );
    assert.deepEqual(replays.rows, [
      { replays: 0, n: 1 },
      { replays: 1, n: 450 },
    ]);
  });

  test("listing filters by type pattern, time and cursor; bad filters name the field", async () => {
    const page = await engine.intake.events.list({ source: "billing", type: "customer.*" }, 5);
    assert.ok(page.length > 0);
    assert.ok(page.every((e) => e.type?.startsWith("customer.")));
    const next = await engine.intake.events.list({ source: "billing", before: page.at(-1)?.id }, 1000);
    assert.ok(next.every((e) => BigInt(e.id) < BigInt(page.at(-1)?.id ?? 0)));
    assert.deepEqual(await engine.intake.events.list({ since: new Date(Date.now() + 60_000) }), []);
    await assert.rejects(
      engine.intake.events.list({ status: "lost" as never }),
      (err) => isKeelError(err, "invalid_argument") && /status: one of pending/.test(err.message),
    );
    await assert.rejects(
      engine.intake.events.list({ until: "yesterday" }),
      (err) => isKeelError(err, "invalid_argument") && /until: an ISO 8601 time/.test(err.message),
    );
    await assert.rejects(engine.intake.events.get("nope"), (err) => isKeelError(err, "event_not_found"));
  });
});

describe("retention and rejections", () => {
  test("events past their source's retention go, oldest first; a removed source's use the default", async () => {
    const { source: brief } = await engine.intake.sources.put(
      "brief",
      { provider: "github", secrets: ["s"], retentionSeconds: 3600 },
      { managedBy: "api" },
    );
    const { source: gone } = await engine.intake.sources.put(
      "gone",
      { provider: "github", secrets: ["s"] },
      {
        managedBy: "api",
      },
    );
    const ids: Record<string, string> = {};
    for (const [key, source] of [
      ["old", brief],
      ["new", brief],
      ["orphan-old", gone],
      ["orphan-recent", gone],
    ] as const) {
      ids[key] = (await engine.intake.events.accept(event(key, "push", source))).id;
    }
    await engine.intake.sources.remove("gone", { managedBy: "api" });
    const age = (id: string | undefined, seconds: number) =>
      engine.pool.query(
        `update "${engine.schema}".events set received_at = now() - $2 * interval '1 second' where id = $1`,
        [id, seconds],
      );
    await age(ids.old, 7200);
    await age(ids["orphan-old"], 31 * 86_400);
    await age(ids["orphan-recent"], 29 * 86_400);
    await runRetention(engine, 1);
    const left = await engine.pool.query(
      `select event_id from "${engine.schema}".events where source in ('brief', 'gone') order by id`,
    );
    assert.deepEqual(
      left.rows.map((r) => r.event_id),
      ["new", "orphan-recent"],
    );
  });

  test("only the newest 100 rejections of a source are kept", async () => {
    const reject = (n: number) => ({
      source: "billing",
      reason: "bad_signature",
      detail: `#${n}`,
      headers: { "stripe-signature": "t=1,v1=00" },
      bodySize: 10,
      requestId: null,
    });
    await engine.intake.sources.recordRejections(Array.from({ length: 60 }, (_, i) => reject(i)));
    await engine.intake.sources.recordRejections(Array.from({ length: 60 }, (_, i) => reject(60 + i)));
    await engine.intake.sources.recordRejections([reject(120)]);
    const kept = await engine.intake.sources.rejections("billing", 1000);
    assert.equal(kept.length, 100);
    assert.equal(kept[0]?.detail, "#120");
    assert.equal(kept.at(-1)?.detail, "#21");
  });
});

describe("group commit", () => {
  test("concurrent submits share one flush; each caller gets its own result after it", async () => {
    const batches: number[][] = [];
    const writer = new GroupCommit(async (items: number[]) => {
      batches.push(items);
      return items.map((i) => i * 2);
    });
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => writer.submit(i)));
    assert.deepEqual(
      results,
      Array.from({ length: 100 }, (_, i) => i * 2),
    );
    assert.equal(batches.length, 1, "submitted in one turn: one batch");
  });

  test("while transactions are in flight, arrivals form the next batch, capped at maxBatch", async () => {
    const batches: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const writer = new GroupCommit(
      async (items: number[]) => {
        batches.push(items.length);
        await gate;
        return items;
      },
      { maxInFlight: 1, maxBatch: 30 },
    );
    const first = writer.submit(0);
    await new Promise((r) => setImmediate(r));
    const later = Array.from({ length: 70 }, (_, i) => writer.submit(i + 1));
    assert.equal(writer.waiting, 70);
    release();
    await Promise.all([first, ...later]);
    assert.deepEqual(batches, [1, 30, 30, 10]);
  });

  test("a data error fails only the item that caused it; a lost connection fails the batch at once", async () => {
    const writer = new GroupCommit(async (items: number[]) => {
      if (items.includes(3)) throw Object.assign(new Error("bad value"), { code: "22P02" });
      return items;
    });
    const settled = await Promise.allSettled([1, 2, 3, 4].map((i) => writer.submit(i)));
    assert.deepEqual(
      settled.map((s) => s.status),
      ["fulfilled", "fulfilled", "rejected", "fulfilled"],
    );
    let flushes = 0;
    const down = new GroupCommit(async (): Promise<number[]> => {
      flushes++;
      throw new KeelError("database_unavailable", { detail: "connection refused" });
    });
    const all = await Promise.allSettled([1, 2, 3].map((i) => down.submit(i)));
    assert.ok(all.every((s) => s.status === "rejected"));
    assert.equal(flushes, 1);
  });
});
