/**
 * Where a claim and a completion spend their time in Postgres: fills a queue, runs claims of
 * `batch` jobs and completes them on one connection (named statements, as the engine runs them),
 * and prints `auto_explain`'s plans with actual times for the last round, nested statements
 * included (the search functions' queries) (decisions 074 and 075).
 * Usage: node --import tsx bench/claim-explain.ts [queued=100000] [batch=500] [rounds=60]
 */
import pg from "pg";
import { Engine, loadStatements } from "../packages/engine/src/index.js";
import { enqueueNoops } from "./lib/fill.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const [queued = 100_000, batch = 500, rounds = 60] = process.argv.slice(2).map(Number);
const schema = `bench_explain_${process.pid}`;
const engine = await Engine.connect({ connectionString: url, schema, poolSize: 2, migrate: true });
const client = new pg.Client({ connectionString: url });
await client.connect();
try {
  await enqueueNoops(engine, queued);
  await client.query(`analyze "${schema}".jobs`);
  const sql = loadStatements(schema, ["claim", "complete"]);
  await client.query("load 'auto_explain'");
  for (const setting of [
    "auto_explain.log_min_duration = 0",
    "auto_explain.log_analyze = on",
    "auto_explain.log_nested_statements = on",
    "auto_explain.log_level = notice",
    "client_min_messages = notice",
  ])
    await client.query(`set ${setting}`);
  let show = false;
  client.on("notice", (n) => {
    if (!show) return;
    // The plan without the statement's text.
    const plan = String(n.message)
      .split("\n")
      .filter((line) => /duration:|actual time/.test(line));
    console.log(plan.join("\n"));
  });
  for (let r = 1; r <= rounds; r++) {
    show = r === rounds;
    if (show) console.log(`== claim of ${batch}, round ${r}`);
    const { rows } = await client.query<{ id: string; lease_token: string }>({
      name: "claim",
      text: sql.claim.text,
      values: ["bench", ["noop"], batch, 30_000, "explain"],
    });
    if (show) console.log(`== completion of ${rows.length}`);
    await client.query({
      name: "complete",
      text: sql.complete.text,
      values: [rows.map((j) => j.id), rows.map((j) => j.lease_token), null, null, null],
    });
  }
} finally {
  await client.query(`drop schema "${schema}" cascade`);
  await client.end();
  await engine.close();
}
