import { asDatabaseError, createPool, migrate } from "@keel/engine";
import type { Logger } from "pino";
import { loadEnv } from "../config/env.js";
import { openDatabase } from "./database.js";

/** `keel migrate`: applies pending migrations to KEEL_SCHEMA (under the same advisory lock as start). */
export async function runMigrate(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadEnv(env);
  logger.level = config.logLevel;
  const database = await openDatabase(config, logger);
  const pool = createPool({
    // Migrations bypass a pooler when a direct URL is given (decision 036).
    connectionString: database.directConnectionString ?? database.connectionString,
    max: 1,
    applicationName: "keel-migrate",
  });
  try {
    const result = await migrate(pool, config.schema).catch((err: unknown) =>
      Promise.reject(asDatabaseError(err)),
    );
    logger.info(
      { schema: config.schema, applied: result.applied, version: result.version },
      result.applied.length > 0 ? "schema migrated" : "schema already current",
    );
  } finally {
    await pool.end();
    await database.stop();
  }
}
