import { hostname, userInfo } from "node:os";
import { Engine, isKeelError, KeelError, type MutationOptions } from "@keel/engine";
import pino, { type Logger } from "pino";
import { type KeelEnv, loadEnv } from "../config/env.js";
import type { Database } from "../runtime/database.js";
import { locateDatabase } from "./database.js";

/** An open connection to Keel's database for one operator command, and who is running it. */
export interface Session {
  engine: Engine;
  /** `cli:<os user>@<hostname>`, recorded in the audit log and as the author of changes. */
  actor: string;
  /**
   * The options of every engine mutation this command makes: each writes its own audit row in
   * the change's transaction.
   */
  as: MutationOptions;
  /** Keel's database (not through a pooler) and schema: what `keel backup` dumps as `keel`. */
  database: { connectionString: string; schema: string };
  close(): Promise<void>;
}

/**
 * Opens the database like `keel migrate` does, but never migrates: a schema that is not at this
 * binary's version stops the command (`schema_outdated`, `schema_too_new`).
 */
export async function openSession(env: NodeJS.ProcessEnv = process.env): Promise<Session> {
  return openSessionWith(loadEnv(env));
}

/** `openSession` with the environment already read (`keel doctor` reads it leniently). */
export async function openSessionWith(config: KeelEnv): Promise<Session> {
  const database = await locateDatabase(config, stderrLogger());
  let engine: Engine;
  try {
    engine = await Engine.connect({
      connectionString: database.connectionString,
      directConnectionString: database.directConnectionString,
      pooler: database.pooler,
      schema: config.schema,
      migrate: false,
      poolSize: 2,
      applicationName: "keel-cli",
      // A command against a Postgres that stops answering fails in about a second (exit 5)
      // instead of hanging.
      watch: {},
    });
  } catch (err) {
    await database.stop();
    throw asUnavailable(err);
  }
  return sessionOn(engine, database);
}

function sessionOn(engine: Engine, database: Database): Session {
  const host = hostname();
  const actor = `cli:${osUser()}@${host}`;
  return {
    engine,
    actor,
    as: { by: actor, source: host },
    database: {
      connectionString: database.directConnectionString ?? database.connectionString,
      schema: engine.schema,
    },
    close: async () => {
      await engine.close();
      await database.stop();
    },
  };
}

// While connecting, every failure is about reaching or using the database (auth, TLS, a missing
// database, permissions), so it is reported as such; the schema checks keep their own codes.
function asUnavailable(err: unknown): unknown {
  if (isKeelError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new KeelError("database_unavailable", { detail }, { cause: err });
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    // A container user with no passwd entry.
    return process.env.USER ?? process.env.LOGNAME ?? `uid${process.getuid?.() ?? "?"}`;
  }
}

/**
 * Messages of the embedded Postgres we may start (an orphan stopped, a stale lock removed) as
 * plain `warn: …` lines on stderr: stdout carries only the command's result.
 */
function stderrLogger(): Logger {
  return pino(
    { level: "warn", base: undefined, timestamp: false },
    {
      write(line: string) {
        const { level, msg } = JSON.parse(line) as { level: number; msg: string };
        process.stderr.write(`${pino.levels.labels[level] ?? "log"}: ${msg}\n`);
      },
    },
  );
}
