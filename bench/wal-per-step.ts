/**
 * WAL per job of a claim and of a completion, by record type (`pg_walinspect`, which this
 * creates in the database if it can): fills a queue, checkpoints, claims every job `batch` at a
 * time, then completes them, and prints each step's records and bytes per job (decisions 053,
 * 074). Usage: node --import tsx bench/wal-per-step.ts [jobs=5000] [batch=200]
 */
import pg from "pg";
import { type ClaimedJob, Engine } from "../packages/engine/src/index.js";
import { enqueueNoops } from "./lib/fill.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const [jobs = 5_000, batch = 200] = process.argv.slice(2).map(Number);
const schema = `bench_wal_${process.pid}`;
const engine = await Engine.connect({ connectionString: url, schema, poolSize: 2, migrate: true });
const client = new pg.Client({ connectionString: url });
await client.connect();
const lsn = async () =>
  (await client.query<{ l: string }>("select pg_current_wal_lsn()::text as l")).rows[0]?.l;
try {
  await client.query("create extension if not exists pg_walinspect");
  await enqueueNoops(engine, jobs);
  // Full-page images follow a checkpoint: the first change to each page after it logs the page.
  await client.query("checkpoint");
  const start = await lsn();
  const claimed: ClaimedJob[] = [];
  for (;;) {
    const got = await engine.claim({
      queue: "bench",
      handlers: ["noop"],
      limit: batch,
      leaseMs: 60_000,
      workerId: "wal",
      limited: false,
    });
    if (got.length === 0) break;
    claimed.push(...got);
  }
  const afterClaims = await lsn();
  for (let i = 0; i < claimed.length; i += batch)
    await engine.complete(claimed.slice(i, i + batch).map((j) => ({ id: j.id, leaseToken: j.leaseToken })));
  const afterCompletions = await lsn();
  const n = claimed.length;
  for (const [step, from, to] of [
    ["claims", start, afterClaims],
    ["completions", afterClaims, afterCompletions],
  ] as const) {
    const { rows } = await client.query<{ type: string; count: string; bytes: string; fpi: string }>(
      `select "resource_manager/record_type" as type, count::text, (record_size + fpi_size)::text as bytes,
              fpi_size::text as fpi
       from pg_get_wal_stats($1, $2, true) where count > 0 order by record_size + fpi_size desc`,
      [from, to],
    );
    const total = rows.reduce((sum, r) => sum + Number(r.bytes), 0);
    console.log(`${step}: ${Math.round(total / n)} B a job`);
    for (const r of rows)
      console.log(
        `  ${r.type.padEnd(26)} ${(Number(r.count) / n).toFixed(2)} a job, ${Math.round(Number(r.bytes) / n)} B (full-page images ${Math.round(Number(r.fpi) / n)} B)`,
      );
  }
} finally {
  await client.query(`drop schema "${schema}" cascade`);
  await client.end();
  await engine.close();
}
