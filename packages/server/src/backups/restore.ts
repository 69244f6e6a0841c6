import { existsSync } from "node:fs";
import { type Client, createPool, type Engine, KeelError } from "@keel/engine";
import { connection } from "./connection.js";
import { fileSha256 } from "./dump.js";
import type { BackupRecord } from "./records.js";
import { findTool, redact, runTool } from "./tools.js";

/**
 * Checks a dump against its record: the file is there and its SHA-256 is the one recorded when
 * it was written. Throws `backup_corrupt` otherwise: a changed dump is never restored.
 */
export async function verifyBackup(backup: BackupRecord): Promise<void> {
  if (!backup.path || !existsSync(backup.path)) {
    throw new KeelError("backup_corrupt", {
      id: backup.id,
      detail: `the file ${backup.path ?? "(none)"} is missing`,
    });
  }
  const sha256 = await fileSha256(backup.path);
  if (sha256 !== backup.sha256) {
    throw new KeelError("backup_corrupt", {
      id: backup.id,
      detail: `${backup.path} has SHA-256 ${sha256}, the backup recorded ${backup.sha256}`,
    });
  }
}

/** Every table of a database (of `schema` when given) and its exact row count. */
export async function countTables(
  engine: Engine,
  databaseUrl: string,
  schema?: string,
): Promise<Record<string, number>> {
  const rows = await on(databaseUrl, (client) =>
    engine.runOn<{ name: string; rows: number }>(client, "backup_tables", [schema ?? null]),
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.rows]));
}

// Work on another database than Keel's, its one-connection pool closed afterwards.
async function on<T>(databaseUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const pool = createPool({ connectionString: databaseUrl, max: 1, applicationName: "keel-backup" });
  try {
    const client = await pool.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

/**
 * Restores a backup with `pg_restore` into the database at `to`, after checking its SHA-256.
 * A database that holds tables is refused (`restore_target_not_empty`) unless `force`, which
 * drops the dumped objects before recreating them. Returns the measured restore time.
 */
export async function restoreBackup(
  engine: Engine,
  backup: BackupRecord,
  to: string,
  options: { force?: boolean } = {},
): Promise<{ restoreMs: number }> {
  const tool = findTool("pg_restore");
  await verifyBackup(backup);
  const conn = connection(to);
  const [present] = await on(to, (client) =>
    engine.runOn<{ tables: number }>(client, "restore_target_tables", []),
  );
  if ((present?.tables ?? 0) > 0 && !options.force) {
    throw new KeelError("restore_target_not_empty", { target: conn.label, tables: present?.tables });
  }
  const args = ["--no-owner", "--no-acl", "--exit-on-error", "--no-password", "--single-transaction"];
  if (options.force) args.push("--clean", "--if-exists");
  const started = performance.now();
  try {
    await runTool(tool, [...args, `--dbname=${conn.url}`, backup.path as string], conn.password);
  } catch (err) {
    const detail = redact(err instanceof Error ? err.message : String(err), conn.password);
    throw new KeelError("restore_failed", { id: backup.id, detail }, { cause: err });
  }
  return { restoreMs: Math.round(performance.now() - started) };
}
