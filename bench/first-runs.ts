/**
 * What a fresh connection's first claims and completions cost: fills a queue, then on each of
 * `connections` new connections claims and completes `batch` jobs `rounds` times (named
 * statements, as the engine runs them), nothing else running. Prints per connection each
 * round's claim and completion time in ms, and the backend's CPU in ms (from /proc, 10 ms
 * ticks). Postgres plans the first five runs of each statement with their values (decisions
 * 067 and 081); the rounds after show the kept plan.
 * Usage: node --import tsx bench/first-runs.ts [connections=4] [batch=500] [rounds=12]
 */
import pg from "pg";
import { Engine, loadStatements } from "../packages/engine/src/index.js";
import { enqueueNoops } from "./lib/fill.js";
import { cpuMs } from "./lib/keel-process.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const [connections = 4, batch = 500, rounds = 12] = process.argv.slice(2).map(Number);
const schema = `bench_first_runs_${process.pid}`;
const engine = await Engine.connect({ connectionString: url, schema, poolSize: 2, migrate: true });
const sql = loadStatements(schema, ["claim", "complete"]);

/** CPU time of the backend behind `client`, in ms (Postgres on this machine). */
async function backendCpuMs(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
  return cpuMs(Number(rows[0]?.pid));
}

try {
  await enqueueNoops(engine, connections * batch * rounds);
  for (let c = 0; c < connections; c++) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const cells: string[] = [];
    try {
      for (let r = 0; r < rounds; r++) {
        const cpu = await backendCpuMs(client);
        let t = performance.now();
        const { rows } = await client.query<{ id: string; lease_token: string }>({
          name: "claim",
          text: sql.claim.text,
          values: ["bench", ["noop"], batch, 30_000, "first-runs"],
        });
        const claimMs = performance.now() - t;
        t = performance.now();
        await client.query({
          name: "complete",
          text: sql.complete.text,
          values: [rows.map((j) => j.id), rows.map((j) => j.lease_token), null, null, null],
        });
        const completeMs = performance.now() - t;
        cells.push(`${claimMs.toFixed(1)}/${completeMs.toFixed(1)} (${(await backendCpuMs(client)) - cpu})`);
      }
    } finally {
      await client.end();
    }
    console.log(`connection ${c + 1}, claim/complete ms (backend CPU ms): ${cells.join("  ")}`);
  }
} finally {
  await engine.pool.query(`drop schema "${schema}" cascade`);
  await engine.close();
}
