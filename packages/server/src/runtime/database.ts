import type { Logger } from "pino";
import { type KeelEnv, type Pooler, redactDatabaseUrl } from "../config/env.js";
import { startEmbeddedPostgres } from "../embedded/postgres.js";

/** The Postgres a Keel process uses: DATABASE_URL, or the embedded one it started. */
export interface Database {
  kind: "external" | "embedded";
  connectionString: string;
  /** Postgres itself, when `connectionString` goes through a pooler: LISTEN and migrations (decision 036). */
  directConnectionString?: string;
  /** `transaction`: `connectionString` is a transaction-mode pooler, so statements run unnamed. */
  pooler?: Pooler;
  /** Stops the embedded Postgres; nothing for an external one. */
  stop(): Promise<void>;
}

/** Connects to DATABASE_URL, or starts the embedded Postgres in KEEL_DATA_DIR when it is unset. */
export async function openDatabase(config: KeelEnv, logger: Logger): Promise<Database> {
  if (config.databaseUrl) return externalDatabase(config);
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

/** DATABASE_URL, with the direct URL and pooler mode that go with it. */
export function externalDatabase(config: KeelEnv): Database {
  return {
    kind: "external",
    connectionString: config.databaseUrl as string,
    directConnectionString: config.directDatabaseUrl,
    pooler: config.pooler,
    stop: async () => {},
  };
}
