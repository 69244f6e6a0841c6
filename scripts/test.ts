/**
 * The test command (`npm test` runs lint, build, then this): finds or starts a real Postgres,
 * checks Redis, then runs every test file with node's test runner against them.
 *
 * - Postgres: KEEL_TEST_DATABASE_URL, else DATABASE_URL, else 127.0.0.1:5432/test when it
 *   answers, else an embedded Postgres in a temporary directory (a fresh machine).
 *   KEEL_TEST_EMBEDDED=1 forces the embedded Postgres.
 * - Redis: REDIS_URL or 127.0.0.1:6379. Tests that need it skip without it, except in CI
 *   (CI=true), where a missing Redis fails the run.
 * - Chromium: KEEL_CHROMIUM or /usr/bin/chromium (Debian's `chromium`), for the console's
 *   browser test. Without it that test skips, except in CI, where a missing Chromium fails the run.
 * - KEEL_TEST_CONCURRENCY (default 2) and KEEL_TEST_TIMEOUT_MS (default 300 s) tune the runner;
 *   `npm run test:faults` runs the fault suite one file at a time.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

const ROOT = new URL("../", import.meta.url).pathname;

async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function tcpAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 1_000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function testFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === "node_modules" || name === "dist") continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".test.ts")) out.push(path);
    }
  };
  for (const dir of ["packages", "bench", "examples"]) {
    try {
      walk(join(ROOT, dir));
    } catch {}
  }
  const only = process.argv.slice(2);
  return only.length ? out.filter((f) => only.some((o) => f.includes(o))) : out.sort();
}

async function main(): Promise<number> {
  const env = { ...process.env };
  let stopEmbedded: (() => Promise<void>) | undefined;
  let tmp: string | undefined;
  // KEEL_TEST_EMBEDDED=1 skips every external server: the path a fresh machine takes.
  const candidates =
    process.env.KEEL_TEST_EMBEDDED === "1"
      ? []
      : [
          process.env.KEEL_TEST_DATABASE_URL,
          process.env.DATABASE_URL,
          "postgres://postgres@127.0.0.1:5432/test",
        ];
  let url: string | undefined;
  for (const c of candidates) {
    if (c && (await postgresAnswers(c))) {
      url = c;
      break;
    }
  }
  if (!url) {
    console.log("# no Postgres answered; starting an embedded Postgres for the tests");
    const { startEmbeddedPostgres } = await import("../packages/server/src/embedded/postgres.js");
    tmp = mkdtempSync(join(tmpdir(), "keel-test-pg-"));
    const pgServer = await startEmbeddedPostgres({ dataDir: tmp });
    url = pgServer.connectionString;
    stopEmbedded = pgServer.stop;
    // Tests that need a Debian-installed Postgres's binaries skip beside an embedded one, even in CI.
    env.KEEL_TEST_POSTGRES_EMBEDDED = "1";
  }
  env.KEEL_TEST_DATABASE_URL = url;

  const redisUrl = new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  if (await tcpAnswers(redisUrl.hostname, Number(redisUrl.port || 6379))) {
    env.KEEL_TEST_REDIS_URL = redisUrl.toString();
  } else if (process.env.CI === "true") {
    console.error(`# CI=true but Redis at ${redisUrl} does not answer: Redis tests would skip. Failing.`);
    return 1;
  } else {
    console.log("# Redis not reachable: tests that need it will skip");
  }

  const chromium = process.env.KEEL_CHROMIUM ?? "/usr/bin/chromium";
  if (existsSync(chromium)) {
    env.KEEL_TEST_CHROMIUM = chromium;
  } else if (process.env.CI === "true") {
    console.error(
      `# CI=true but no Chromium at ${chromium} (apt-get install chromium): the console browser test would skip. Failing.`,
    );
    return 1;
  } else {
    console.log(
      `# no Chromium at ${chromium} (apt-get install chromium, or set KEEL_CHROMIUM): the console browser test will skip`,
    );
  }

  const files = testFiles();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--test",
        `--test-concurrency=${process.env.KEEL_TEST_CONCURRENCY ?? 2}`,
        `--test-timeout=${process.env.KEEL_TEST_TIMEOUT_MS ?? 300_000}`,
        ...files,
      ],
      { stdio: "inherit", env, cwd: ROOT },
    );
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  if (stopEmbedded) await stopEmbedded();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  return code;
}

process.exitCode = await main();
