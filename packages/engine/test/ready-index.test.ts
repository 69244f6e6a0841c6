/**
 * Decision 078: claims of queues without flow control read only unkeyed jobs, so a queue with
 * keyed jobs must be a flow queue. Migration 0026 marks the queues that already held jobs keyed
 * by an expression removed before it ran (the trigger it adds covers removals after it).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ClaimedJob, createPool, Engine, knownMigrations, migrate } from "../src/index.js";
import { freshSchema, guardLeaks, onCleanup, testDatabaseUrl } from "./helpers.js";

guardLeaks();
const pool = createPool({ connectionString: testDatabaseUrl(), max: 2 });
onCleanup(() => pool.end());

test("jobs keyed by an expression removed before migration 0026 are all claimed after it", async () => {
  const schema = freshSchema("ready");
  const S = `"${schema}"`;
  await migrate(pool, schema, { migrations: knownMigrations().filter((m) => m.id <= 25) });
  // As the previous version left it: the queue's expression keyed three jobs, then a settings
  // change removed the expression (upsert_queue wrote flow_key = null and nothing else).
  await pool.query(
    `insert into ${S}.queues (name, flow_key, flow_concurrency) values ('q', 'payload.account', 1)`,
  );
  for (const account of ["a", "b", "c"])
    await pool.query(`select ${S}.enqueue('q', '{"handler":"h"}', $1::jsonb, null)`, [
      JSON.stringify({ account }),
    ]);
  await pool.query(`select ${S}.enqueue('q', '{"handler":"h"}', '{}', null)`);
  await pool.query(`update ${S}.queues set flow_key = null, flow_concurrency = null where name = 'q'`);
  const keyed = await pool.query(`select count(*)::int as n from ${S}.jobs where flow_key is not null`);
  assert.equal(keyed.rows[0].n, 3, "the expression keyed three jobs");

  await migrate(pool, schema);
  const engine = await Engine.connect({ connectionString: testDatabaseUrl(), schema });
  try {
    const limited = (await engine.queueLimits(["q"])).get("q")?.limited ?? false;
    assert.equal(limited, true, "the migration made the queue a flow queue");
    const taken: ClaimedJob[] = [];
    for (let i = 0; i < 5; i++)
      taken.push(
        ...(await engine.claim({
          queue: "q",
          handlers: ["h"],
          limit: 10,
          leaseMs: 30_000,
          workerId: "w",
          limited,
        })),
      );
    const accounts = taken.map((j) => (j.payload as { account?: string }).account ?? "-").sort();
    assert.deepEqual(accounts, ["-", "a", "b", "c"]);
  } finally {
    await engine.close();
  }
});
