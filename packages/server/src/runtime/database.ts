import type { Logger } from "pino";
import { type KeelEnv, redactDatabaseUrl } from "../config/env.js";
import { startEmbeddedPostgres } from "../embedded/postgres.js";

/** The Postgres a Keel process uses: DATABASE_URL, or the embedded one it started. */
export interface Database {
  kind: "external" | "embedded";
  connectionString: string;
  /** Stops the embedded Postgres; nothing for an external one. */
  stop(): Promise<void>;
}

/** Connects to DATABASE_URL, or starts the embedded Postgres in KEEL_DATA_DIR when it is unset. */
export async function openDatabase(config: KeelEnv, logger: Logger): Promise<Database> {
  if (config.databaseUrl) {
    return { kind: "external", connectionString: config.databaseUrl, stop: async () => {} };
  }
  const pgLogger = logger.child({ component: "postgres" });
  const embedded = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    log: (level, message) => pgLogger[level](message),
  });
  logger.info(
    {
      dataDir: config.dataDir,
      postgres: redactDatabaseUrl(embedded.connectionString),
      created: embedded.created,
    },
    embedded.created ? "embedded postgres created and started" : "embedded postgres started",
  );
  return { kind: "embedded", connectionString: embedded.connectionString, stop: embedded.stop };
}
