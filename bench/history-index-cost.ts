/**
 * What each of job_history's write costs adds to a completion: claims and completes a queue of
 * 20,000 jobs 500 at a time, timing the completions, with everything in place and then with the
 * counts trigger off, the job_finishes trigger off (decision 088), the `(queue, state,
 * finished_at)` index over every finished job that migration 0029 replaced put back in its place,
 * or the `(queue, state, id)` index that migration 0027 dropped put back (each undone after),
 * four rounds of each alternated; prints the completion's time per job for each.
 * Usage: node --import tsx bench/history-index-cost.ts
 */
import pg from "pg";
import { Engine, loadStatements } from "../packages/engine/src/index.js";
import { enqueueNoops } from "./lib/fill.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `bench_hist_${process.pid}`;
const S = `"${schema}"`;
const engine = await Engine.connect({ connectionString: url, schema, poolSize: 2, migrate: true });
const client = new pg.Client({ connectionString: url });
await client.connect();
const sql = loadStatements(schema, ["claim", "complete"]);
const variants: Record<string, { off: string[]; on: string[] }> = {
  "everything in place": { off: [], on: [] },
  "no counts trigger": {
    off: [`alter table ${S}.job_history disable trigger job_history_counted_insert`],
    on: [`alter table ${S}.job_history enable trigger job_history_counted_insert`],
  },
  "a (queue, state, id) index as before 0027": {
    off: [`create index job_history_queue_state on ${S}.job_history (queue, state, id)`],
    on: [`drop index ${S}.job_history_queue_state`],
  },
  "no job_finishes trigger": {
    off: [`alter table ${S}.job_history disable trigger job_history_finished_insert`],
    on: [`alter table ${S}.job_history enable trigger job_history_finished_insert`],
  },
  "the index over all history, before 0029": {
    off: [
      `alter table ${S}.job_history disable trigger job_history_finished_insert`,
      `create index job_history_retention on ${S}.job_history (queue, state, finished_at)`,
    ],
    on: [
      `drop index ${S}.job_history_retention`,
      `alter table ${S}.job_history enable trigger job_history_finished_insert`,
    ],
  },
};
const spent = new Map<string, { ms: number; jobs: number }>();
try {
  for (let round = 0; round < 4; round++)
    for (const [name, v] of Object.entries(variants)) {
      for (const q of v.off) await client.query(q);
      await enqueueNoops(engine, 20_000);
      const total = spent.get(name) ?? { ms: 0, jobs: 0 };
      for (;;) {
        const { rows } = await client.query<{ id: string; lease_token: string }>({
          name: "claim",
          text: sql.claim.text,
          values: ["bench", ["noop"], 500, 30_000, "cost"],
        });
        if (rows.length === 0) break;
        const started = performance.now();
        // A statement name per variant: each is planned for the indexes it has.
        await client.query({
          name: `complete ${name}`,
          text: sql.complete.text,
          values: [rows.map((j) => j.id), rows.map((j) => j.lease_token), null, null, null],
        });
        total.ms += performance.now() - started;
        total.jobs += rows.length;
      }
      spent.set(name, total);
      for (const q of v.on) await client.query(q);
    }
  for (const [name, t] of spent)
    console.log(`${name.padEnd(38)} ${((t.ms / t.jobs) * 1000).toFixed(2)} µs a job`);
} finally {
  await client.query(`drop schema ${S} cascade`);
  await client.end();
  await engine.close();
}
