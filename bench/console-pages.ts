/**
 * Times the operator console's list pages on a large history (issue 15: first screen under
 * 300 ms with 1,000,000 finished jobs and 100,000 webhook events). Fills a fresh schema, signs
 * in, then renders each page (through `app.inject`, no network) and prints the median of 5.
 * Usage: node --import tsx bench/console-pages.ts [finishedJobs=1000000] [events=100000]
 */
import { Engine } from "@keel/engine";
import { consoleSettings } from "../packages/server/src/config/env.js";
import { buildApp } from "../packages/server/src/http/app.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const jobs = Number(process.argv[2] ?? 1_000_000);
const events = Number(process.argv[3] ?? 100_000);
const schema = `bench_console_${process.pid}`;
const engine = await Engine.connect({ connectionString: url, schema, migrate: true });
const S = `"${schema}"`;

try {
  let t = performance.now();
  for (const q of ["email", "pdf", "sync", "webhooks", "reports"]) await engine.upsertQueue(q);
  await engine.pool.query(
    `insert into ${S}.job_history (id, queue, handler, state, target, payload, priority, attempt, max_attempts,
       run_at, created_at, finished_at, last_error)
     select g, (array['email','pdf','sync','webhooks','reports'])[1 + g % 5], 'h',
       case when g % 100 = 0 then 'dead' else 'succeeded' end, '{"handler":"h"}', '{"n":1}', 0, 1, 3,
       now() - (g % 86400) * interval '1 second', now() - (g % 86400) * interval '1 second',
       now() - (g % 86400) * interval '1 second',
       case when g % 100 = 0 then '{"message":"boom"}'::jsonb end
     from generate_series(1, $1::int) g`,
    [jobs],
  );
  await engine.pool.query(`select setval(pg_get_serial_sequence('${S}.jobs', 'id'), $1::bigint)`, [jobs + 1]);
  await engine.intake.sources.put(
    "stripe",
    { provider: "stripe", secrets: ["whsec_x"] },
    { managedBy: "api" },
  );
  await engine.pool.query(
    `insert into ${S}.events (source, event_id, type, content_type, headers, body, verification)
     select 'stripe', 'evt_' || g, 'invoice.paid', 'application/json', '{}', '\\x7b7d', '{"provider":"stripe","secret":1}'
     from generate_series(1, $1::int) g`,
    [events],
  );
  for (const table of ["job_history", "events"]) await engine.pool.query(`vacuum analyze ${S}.${table}`);
  console.log(`filled ${jobs} finished jobs and ${events} events in ${Math.round(performance.now() - t)} ms`);

  const app = buildApp({
    pool: engine.pool,
    schema,
    role: "all",
    api: { engine, adminToken: undefined, console: consoleSettings(undefined, "bench-password", false) },
  });
  const signIn = await app.inject({
    method: "POST",
    url: "/console/sign-in",
    headers: { host: "localhost", "content-type": "application/x-www-form-urlencoded" },
    payload: "credential=bench-password",
  });
  const cookie = String(signIn.headers["set-cookie"]).split(";")[0] as string;
  const pages = [
    "/console",
    "/console/queues",
    "/console/queues/email",
    "/console/jobs",
    "/console/jobs?queue=email",
    "/console/jobs?queue=pdf&state=dead",
    "/console/jobs?state=dead",
    `/console/jobs?cursor=${Math.floor(jobs / 2)}`,
    "/console/jobs?dedupe_key=nope",
    "/console/jobs?queue=email&handler=nope",
    "/console/jobs?host=nope.example",
    "/console/jobs?from=2000-01-01T00:00&to=2000-01-02T00:00",
    "/console/failures",
    "/console/queues/email/retry-dead",
    "/console/intake",
    "/console/intake?source=stripe&status=routed",
    "/console/audit",
    "/console/audit?from=2000-01-01T00:00&to=2000-01-02T00:00",
  ];
  for (const path of pages) {
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      t = performance.now();
      const res = await app.inject({ url: path, headers: { host: "localhost", cookie } });
      if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${res.body.slice(0, 300)}`);
      if (i > 0) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`${path.padEnd(44)} median ${times[2]?.toFixed(1)} ms, max ${times.at(-1)?.toFixed(1)} ms`);
  }
  // GET /v1/queues, `keel queues` and the metrics scrape read engine.listQueues().
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    t = performance.now();
    await engine.listQueues();
    if (i > 0) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${"engine.listQueues()".padEnd(44)} median ${times[2]?.toFixed(1)} ms, max ${times.at(-1)?.toFixed(1)} ms`,
  );
  await app.close();
} finally {
  if (!process.env.KEEP) await engine.pool.query(`drop schema ${S} cascade`);
  else console.log(`kept schema ${schema}`);
  await engine.close();
}
