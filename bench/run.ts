/**
 * Runs Keel and its peers side by side on this machine and writes the results.
 *
 *   npm run bench                       every scenario, full size
 *   npm run bench -- --only enqueue     one scenario (repeat --only for more)
 *   npm run bench -- --smoke            tiny sizes (what npm test runs)
 *
 * The pressure scenario (`--only pressure`, 73–163 min at full length) shrinks every phase with
 * BENCH_PRESSURE_SCALE (e.g. 0.1); its knobs are in bench/scenarios/pressure.ts and decision 059.
 *
 * Postgres: BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test.
 * Redis: REDIS_URL, else redis://127.0.0.1:6379 when it answers. Writes bench/results/latest.json
 * and bench/results/latest.md; copy the table into BENCHMARKS.md with the date and machine.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { durabilitySettings, vacuumCatalogsWithoutAutovacuum } from "./lib/postgres.js";
import { redisAnswers } from "./lib/redis.js";
import type { ResultRow, Scenario } from "./lib/scenario.js";
import { SCENARIOS } from "./scenarios/index.js";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const only = args.flatMap((a, i) => (a === "--only" ? [args[i + 1] as string] : []));
const databaseUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisCandidate = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redisUrl = (await redisAnswers(redisCandidate)) ? redisCandidate : undefined;

const chosen: Scenario[] = only.length ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
const unknown = only.filter((o) => !SCENARIOS.some((s) => s.name === o));
if (unknown.length) {
  console.error(`unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  process.exit(2);
}

const rows: ResultRow[] = [];
const started = new Date();
for (const scenario of chosen) {
  if (scenario.needsRedis && !redisUrl) {
    console.error(`skipping ${scenario.name}: needs Redis (set REDIS_URL)`);
    continue;
  }
  console.error(`\n== ${scenario.title}`);
  const dead = smoke ? null : await vacuumCatalogsWithoutAutovacuum(databaseUrl);
  if (dead !== null)
    console.error(`   autovacuum is off: vacuumed the system catalogs first (${dead} dead rows)`);
  const t = performance.now();
  const got = await scenario.run({
    smoke,
    databaseUrl,
    redisUrl,
    log: (m) => console.error(`   ${m}`),
  });
  rows.push(...got);
  for (const r of got)
    console.error(`   ${r.system.padEnd(36)} ${r.metric.padEnd(28)} ${format(r.value)} ${r.unit}`);
  console.error(`   (${((performance.now() - t) / 1000).toFixed(1)} s)`);
}

const machine = {
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? "unknown"}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  postgres: await durabilitySettings(databaseUrl),
  redis: redisUrl ? "yes" : "no",
};
const report = {
  date: started.toISOString(),
  smoke,
  command: `npm run bench -- ${args.join(" ")}`.trim(),
  machine,
  rows,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const name = smoke ? "smoke" : "latest";
writeFileSync(new URL(`./results/${name}.json`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(new URL(`./results/${name}.md`, import.meta.url), markdown(report, chosen));
console.error(`\nwrote bench/results/${name}.json and bench/results/${name}.md`);

function format(n: number): string {
  return Number.isFinite(n)
    ? Math.abs(n) >= 100
      ? Math.round(n).toLocaleString("en-US")
      : n.toFixed(2)
    : String(n);
}

function markdown(r: typeof report, scenarios: Scenario[]): string {
  const lines = [
    `Run ${r.date} — \`${r.command}\``,
    "",
    `Machine: ${r.machine.cpus}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, Postgres ${r.machine.postgres.server_version} (synchronous_commit=${r.machine.postgres.synchronous_commit}, fsync=${r.machine.postgres.fsync}, autovacuum=${r.machine.postgres.autovacuum ?? "?"}), Redis: ${r.machine.redis}.`,
    "",
  ];
  for (const s of scenarios) {
    const mine = r.rows.filter((x) => x.scenario === s.name);
    if (mine.length === 0) continue;
    lines.push(
      `### ${s.title}`,
      "",
      `Target: ${s.target}`,
      "",
      "| system | metric | value | note |",
      "|---|---|---:|---|",
    );
    for (const x of mine)
      lines.push(`| ${x.system} | ${x.metric} | ${format(x.value)} ${x.unit} | ${x.note ?? ""} |`);
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}
