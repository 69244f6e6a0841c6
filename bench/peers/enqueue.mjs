// Enqueue throughput of graphile-worker 0.18 and pg-boss 12 on Node 22, for bench/scenarios/enqueue.ts:
// the same sizes and shape as the in-process peers there (batches of 1,000 from one caller; single
// jobs from 8 concurrent callers; a warm-up, then alternated rounds, best round counts).
//   node enqueue.mjs <databaseUrl> <graphileSchema> <pgBossSchema> <bulkJobs> <singleJobs> <rounds>
// Progress on stderr; one JSON line on stdout:
//   {"graphile":{"bulk":n,"single":n},"pgBoss":{"bulk":n,"single":n}} (jobs/s)
import { Logger, makeWorkerUtils } from "graphile-worker";
import pg from "pg";
import { PgBoss } from "pg-boss";

const [databaseUrl, gwSchema, bossSchema, bulkArg, singleArg, roundsArg] = process.argv.slice(2);
const bulkJobs = Number(bulkArg);
const singleJobs = Number(singleArg);
const rounds = Number(roundsArg);
const BATCH = 1_000;
const CALLERS = 8;
const QUEUE = "bench";

let next = 0;
const fresh = (n) => Array.from({ length: n }, () => ({ k: next++ }));

async function singles(one, jobs) {
  let i = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (i < jobs.length) await one(jobs[i++]);
    }),
  );
}

async function count(sql) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0].n;
  } finally {
    await client.end();
  }
}

const quiet = new Logger(() => () => {});
const utils = await makeWorkerUtils({ connectionString: databaseUrl, schema: gwSchema, logger: quiet });
await utils.migrate();
const boss = new PgBoss({
  connectionString: databaseUrl,
  schema: bossSchema,
  max: 10,
  supervise: false,
  schedule: false,
});
boss.on("error", () => {});
await boss.start();
await boss.createQueue(QUEUE);

const systems = [
  {
    name: "graphile",
    bulk: (jobs) => utils.addJobs(jobs.map((payload) => ({ identifier: "noop", payload }))),
    single: (payload) => utils.addJob("noop", payload),
    count: () => count(`select count(*)::int as n from "${gwSchema}"._private_jobs`),
  },
  {
    name: "pgBoss",
    bulk: (jobs) =>
      boss.insert(
        QUEUE,
        jobs.map((data) => ({ data })),
      ),
    single: (data) => boss.send(QUEUE, data),
    count: () => count(`select count(*)::int as n from "${bossSchema}".job where name = '${QUEUE}'`),
  },
];

const result = {};
const expected = {};
try {
  for (const s of systems) {
    await s.bulk(fresh(BATCH));
    await singles(s.single, fresh(200));
    expected[s.name] = BATCH + 200;
    result[s.name] = { bulk: 0, single: 0 };
  }
  for (let round = 0; round < rounds; round++) {
    for (const s of systems) {
      let t = performance.now();
      for (let i = 0; i < bulkJobs; i += BATCH) await s.bulk(fresh(Math.min(BATCH, bulkJobs - i)));
      const bulk = (bulkJobs * 1000) / (performance.now() - t);
      t = performance.now();
      await singles(s.single, fresh(singleJobs));
      const single = (singleJobs * 1000) / (performance.now() - t);
      expected[s.name] += bulkJobs + singleJobs;
      process.stderr.write(
        `round ${round + 1} ${s.name}: bulk ${Math.round(bulk)}/s, single ${Math.round(single)}/s\n`,
      );
      result[s.name] = {
        bulk: Math.max(result[s.name].bulk, bulk),
        single: Math.max(result[s.name].single, single),
      };
    }
  }
  for (const s of systems) {
    const held = await s.count();
    if (held !== expected[s.name])
      throw new Error(`${s.name} holds ${held} jobs, expected ${expected[s.name]}`);
  }
} finally {
  await utils.release();
  await boss.stop({ graceful: false, wait: true, close: true });
}
process.stdout.write(`${JSON.stringify(result)}\n`);
