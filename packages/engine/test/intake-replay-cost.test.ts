/**
 * Replaying events marks them routed through their ids, never by reading the whole `events`
 * table, even when the statement was first run while the table was nearly empty (a cached
 * generic plan would keep the join chosen then: decision 063). Counted in rows read from
 * `events` by sequential scan (pg_stat_user_tables.seq_tup_read), not in time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AcceptInput, Engine, Source } from "../src/index.js";
import { guardLeaks, testEngine, tuplesRead } from "./helpers.js";

guardLeaks();
// One connection: the statements it prepares and the statistics it flushes are the ones measured.
const engine: Engine = await testEngine({ poolSize: 1 });

await engine.intake.sources.put(
  "replays",
  {
    provider: "standard",
    secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    routes: [{ target: { handler: "h" } }],
  },
  { managedBy: "api" },
);
const source: Source = await engine.intake.sources.get("replays");

function event(eventId: string): AcceptInput {
  return {
    source,
    eventId,
    type: "thing.happened",
    contentType: "application/json",
    headers: { "webhook-id": eventId },
    body: Buffer.from(JSON.stringify({ id: eventId })),
    verification: { provider: "standard", secret: 1 },
  };
}

test("replaying an event reads it by id, however small the table was when replays first ran", async () => {
  // Replays while the table holds a handful of events (more than the 5 runs after which
  // Postgres may keep a generic plan for a prepared statement).
  const early = await engine.intake.events.accept(event("early"));
  for (let i = 0; i < 12; i++) await engine.intake.events.replay(early.id);
  // Then the table grows: 5,000 events, in batches of 100 (concurrent accepts share a statement).
  for (let b = 0; b < 50; b++) {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => engine.intake.events.accept(event(`old_${b}_${i}`))),
    );
  }
  const late = await engine.intake.events.accept(event("late"));
  const scanned = await tuplesRead(engine, "events", "seq", async () => {
    for (let i = 0; i < 3; i++) assert.equal((await engine.intake.events.replay(late.id)).jobs.length, 1);
  });
  assert.ok(scanned < 1000, `three replays read ${scanned} rows of events by sequential scan`);
});
