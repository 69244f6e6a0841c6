import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import pg from "pg";
import { type AcceptInput, GroupCommit, isKeelError, KeelError, MAX_EVENT_ID_LENGTH } from "../src/index.js";
import { guardLeaks, testDatabaseUrl, testEngine } from "./helpers.js";

// One bad event among many concurrent good ones: the bad one fails with its own error, the
// others are stored (issue 12, defect 3).

guardLeaks();
const engine = await testEngine();
await engine.intake.sources.put(
  "partner",
  {
    provider: "standard",
    secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    routes: [{ target: { url: "https://app.example.com/hooks" } }],
  },
  { managedBy: "api" },
);
const source = await engine.intake.sources.get("partner");

function event(eventId: string): AcceptInput {
  return {
    source,
    eventId,
    type: "invoice.paid",
    contentType: "application/json",
    headers: { "webhook-id": eventId.slice(0, 50) },
    body: Buffer.from(JSON.stringify({ type: "invoice.paid" })),
    verification: { provider: "standard", secret: 1 },
  };
}

async function stored(eventIds: string[]): Promise<number> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query(
      `select count(*)::int as n from "${engine.schema}".events where event_id = any($1)`,
      [eventIds],
    );
    return rows[0].n;
  } finally {
    await client.end();
  }
}

describe("a poisonous event", () => {
  test("an id over the limit is refused with event_id_too_long; its concurrent neighbours are stored", async () => {
    const good = Array.from({ length: 40 }, (_, i) => `msg_long_${i}`);
    const long = `msg_${randomBytes(1_500).toString("hex")}`;
    const settled = await Promise.allSettled([
      ...good.slice(0, 20).map((id) => engine.intake.events.accept(event(id))),
      engine.intake.events.accept(event(long)),
      ...good.slice(20).map((id) => engine.intake.events.accept(event(id))),
    ]);
    const bad = settled[20] as PromiseRejectedResult;
    assert.equal(bad.status, "rejected");
    assert.ok(isKeelError(bad.reason, "event_id_too_long"), String(bad.reason));
    assert.equal(bad.reason.status, 400);
    assert.match(bad.reason.message, new RegExp(`at most ${MAX_EVENT_ID_LENGTH}`));
    const others = settled.filter((_, i) => i !== 20);
    assert.deepEqual(
      others.map((s) => s.status),
      good.map(() => "fulfilled"),
    );
    assert.equal(await stored(good), good.length);
    // Exactly the limit is accepted.
    const longest = `m${"y".repeat(MAX_EVENT_ID_LENGTH - 1)}`;
    assert.equal((await engine.intake.events.accept(event(longest))).duplicate, false);
  });

  test("a row Postgres refuses inside a batch fails alone; every other event of the batch commits", async () => {
    // Bypasses the id bound: a trigger refuses one event the way an oversized index row does
    // (SQLSTATE 54000), inside the batch's transaction.
    const admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    try {
      await admin.query(`
        create function "${engine.schema}".poison() returns trigger language plpgsql as $$
        begin
          if new.event_id like 'poison%' then
            raise exception 'index row size exceeds maximum' using errcode = 'program_limit_exceeded';
          end if;
          return new;
        end $$`);
      await admin.query(`create trigger poison before insert on "${engine.schema}".events
        for each row execute function "${engine.schema}".poison()`);
    } finally {
      await admin.end();
    }
    const good = Array.from({ length: 200 }, (_, i) => `msg_batch_${i}`);
    const ids = [...good.slice(0, 77), "poison_1", ...good.slice(77, 150), "poison_2", ...good.slice(150)];
    const settled = await Promise.allSettled(ids.map((id) => engine.intake.events.accept(event(id))));
    settled.forEach((s, i) => {
      const id = ids[i] as string;
      if (id.startsWith("poison")) {
        assert.equal(s.status, "rejected", id);
        assert.equal((s as PromiseRejectedResult).reason.code, "54000", id);
      } else assert.equal(s.status, "fulfilled", `${id}: ${String((s as PromiseRejectedResult).reason)}`);
    });
    assert.equal(await stored(good), good.length);
    // Their jobs were made with them.
    const jobs = await Promise.all(
      settled.filter((s) => s.status === "fulfilled").map((s) => engine.intake.events.jobs(s.value.id)),
    );
    assert.ok(jobs.every((list) => list.length === 1));
  });
});

describe("group commit splits a failed batch", () => {
  test("one bad item among 500 fails alone, found in a few transactions; a lost connection fails at once", async () => {
    let flushes = 0;
    const writer = new GroupCommit(async (items: number[]) => {
      flushes++;
      if (items.includes(321)) throw new KeelError("invalid_argument", { detail: "item 321" });
      return items;
    });
    const settled = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => writer.submit(i)));
    settled.forEach((s, i) => {
      assert.equal(s.status, i === 321 ? "rejected" : "fulfilled", String(i));
    });
    // Halving: 1 + 2 per level (9 levels for 500) — not one transaction per item.
    assert.ok(flushes <= 1 + 2 * 9, `${flushes} flushes`);

    flushes = 0;
    const down = new GroupCommit(async (): Promise<number[]> => {
      flushes++;
      throw Object.assign(new Error("Connection terminated unexpectedly"), {});
    });
    const all = await Promise.allSettled([1, 2, 3, 4].map((i) => down.submit(i)));
    assert.ok(all.every((s) => s.status === "rejected"));
    assert.equal(flushes, 1);
  });
});
