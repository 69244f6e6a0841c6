import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isKeelError, KeelError } from "@keel/engine";
import type { Logger } from "pino";
import type { KeelEnv } from "../config/env.js";
import { readOwner, sameProcess } from "../embedded/locks.js";
import { isAlive } from "../embedded/processes.js";
import { type Database, externalDatabase, openDatabase } from "../runtime/database.js";

// The role and database the embedded cluster is created with (embedded/postgres.ts).
const EMBEDDED_USER = "postgres";
const EMBEDDED_DATABASE = "keel";

/**
 * The database an operator command works on, found like `keel migrate` finds it: DATABASE_URL;
 * else the embedded Postgres in KEEL_DATA_DIR. When a Keel process already runs that Postgres
 * (it holds `keel.pid`), the command connects to it instead of starting a second server on the
 * same files; otherwise it starts the embedded Postgres for the command's duration.
 */
export async function locateDatabase(config: KeelEnv, logger: Logger): Promise<Database> {
  if (config.databaseUrl) return externalDatabase(config);
  const running = await runningEmbedded(config.dataDir);
  if (running) return running;
  if (!existsSync(join(config.dataDir, "pg", "PG_VERSION"))) {
    // Creating a cluster as a side effect of `keel jobs list` would only hide a wrong directory.
    throw unavailable(
      `KEEL_DATA_DIR ${config.dataDir} holds no embedded Postgres (no Keel has run there). Run the command where \`keel start\` runs, set KEEL_DATA_DIR to its data directory, or set DATABASE_URL`,
    );
  }
  try {
    return await openDatabase(config, logger);
  } catch (err) {
    // A Keel started between our look and our start: use its Postgres once it is up.
    if (!isKeelError(err, "data_dir_in_use")) throw err;
    const started = await runningEmbedded(config.dataDir);
    if (started) return started;
    throw err;
  }
}

/**
 * The embedded Postgres a live Keel process runs in `dataDir`, or undefined when none does.
 * Keel writes no connection file, so this reads what is already there: the owner in
 * `keel.pid` (see embedded/locks.ts), the port Postgres records in line 4 of its
 * `postmaster.pid`, and the generated password in `pg-password`.
 */
async function runningEmbedded(dataDir: string): Promise<Database | undefined> {
  const owner = await readOwner(join(dataDir, "keel.pid"));
  if (!owner || !(await sameProcess(owner))) return undefined;
  const pidFile = join(dataDir, "pg", "postmaster.pid");
  const lines = (
    await readText(
      pidFile,
      `Keel (pid ${owner.pid}) has not started its embedded Postgres yet (no ${pidFile}); retry in a moment`,
    )
  ).split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  const status = lines[7]?.trim();
  if (!Number.isInteger(pid) || !isAlive(pid) || !Number.isInteger(port) || port <= 0 || status !== "ready") {
    throw unavailable(
      `the embedded Postgres of Keel (pid ${owner.pid}) in ${dataDir} is not ready (${status || "starting"}); retry in a moment`,
    );
  }
  const passwordFile = join(dataDir, "pg-password");
  const password = (
    await readText(passwordFile, `${passwordFile} is missing; restore it, or set DATABASE_URL`)
  ).trim();
  return {
    kind: "embedded",
    connectionString: `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`,
    // Keel owns that Postgres: the command only disconnects.
    stop: async () => {},
  };
}

async function readText(file: string, whenMissing: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") {
      throw unavailable(`${file} is not readable by this user. Run the command as the user that runs Keel`);
    }
    throw unavailable(whenMissing);
  }
}

function unavailable(detail: string): KeelError {
  return new KeelError("database_unavailable", { detail });
}
