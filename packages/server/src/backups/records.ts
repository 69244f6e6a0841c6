import type { Engine } from "@keel/engine";

/** One row of Keel's backup record (migration 0012). */
export interface BackupRecord {
  id: string;
  target: string;
  /** `host:port/database`, never a URL with its password. */
  source: string;
  status: "running" | "succeeded" | "failed";
  startedAt: Date;
  finishedAt: Date | null;
  /** The moment the dump's snapshot was taken: the data is as of then (RPO). */
  dataAt: Date | null;
  path: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  /** `schema.table` → rows, counted in the dump's own snapshot. */
  tables: Record<string, number> | null;
  error: string | null;
}

interface Row {
  id: string;
  target: string;
  source: string;
  status: BackupRecord["status"];
  started_at: Date;
  finished_at: Date | null;
  data_at: Date | null;
  path: string | null;
  size_bytes: number | null;
  sha256: string | null;
  tables: Record<string, number> | null;
  error: string | null;
}

const toRecord = (r: Row): BackupRecord => ({
  id: r.id,
  target: r.target,
  source: r.source,
  status: r.status,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  dataAt: r.data_at,
  path: r.path,
  sizeBytes: r.size_bytes,
  sha256: r.sha256,
  tables: r.tables,
  error: r.error,
});

/** The latest `limit` backups, newest first (of `target` when given). */
export async function listBackups(engine: Engine, limit = 50, target?: string): Promise<BackupRecord[]> {
  return (await engine.run<Row>("backup_list", [limit, target ?? null])).map(toRecord);
}

/** Backup `id`, or the latest successful one (of `target`) without an id. */
export async function getBackup(
  engine: Engine,
  id: string | undefined,
  target?: string,
): Promise<BackupRecord | undefined> {
  const rows = await engine.run<Row>("backup_get", [id ?? null, target ?? null]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}
