import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createPool, type Engine, KeelError } from "@keel/engine";
import type { BackupsConfig } from "../config/backups.js";
import { connection } from "./connection.js";
import { type BackupRecord, getBackup, listBackups } from "./records.js";
import type { BackupTarget } from "./targets.js";
import { findTool, redact, runTool } from "./tools.js";

/**
 * Dumps one target with `pg_dump -Fc` into `config.dir`, recorded in Keel's `backups` table:
 * the tables and their row counts are read in the very snapshot the dump uses (exported by a
 * repeatable-read transaction), so a restore can be checked against them. Then applies `keep`.
 * A failure is recorded (its error without the password) and thrown as `backup_failed`.
 */
export async function backupNow(
  engine: Engine,
  config: BackupsConfig,
  target: BackupTarget,
): Promise<BackupRecord> {
  const tool = findTool("pg_dump");
  const conn = connection(target.url);
  const [started] = await engine.run<{ id: string; started_at: Date }>("backup_start", [
    target.name,
    conn.label,
  ]);
  const id = started?.id as string;
  const dir = resolve(config.dir);
  const stamp = (started?.started_at ?? new Date()).toISOString().replace(/[:.]/g, "-");
  const path = join(dir, `${target.name}-${id}-${stamp}.dump`);
  const partial = `${path}.partial`;
  const pool = createPool({ connectionString: target.url, max: 1, applicationName: "keel-backup" });
  try {
    await mkdir(dir, { recursive: true });
    const client = await pool.connect();
    let dataAt: Date;
    let tables: Record<string, number>;
    try {
      await client.query("begin isolation level repeatable read, read only");
      const [snap] = (
        await client.query<{ snapshot: string; now: Date }>("select pg_export_snapshot() as snapshot, now()")
      ).rows;
      dataAt = snap?.now as Date;
      const counted = await engine.runOn<{ name: string; rows: number }>(client, "backup_tables", [
        target.schema ?? null,
      ]);
      tables = Object.fromEntries(counted.map((t) => [t.name, t.rows]));
      const args = ["--format=custom", `--snapshot=${snap?.snapshot}`, `--file=${partial}`, "--no-password"];
      if (target.schema) args.push(`--schema=${target.schema}`);
      await runTool(tool, [...args, `--dbname=${conn.url}`], conn.password);
      await client.query("commit");
    } finally {
      client.release();
    }
    await rename(partial, path);
    const { size } = await stat(path);
    const sha256 = await fileSha256(path);
    await engine.run("backup_finish", [id, "succeeded", dataAt, path, size, sha256, tables, null]);
  } catch (err) {
    await rm(partial, { force: true });
    const detail = redact(err instanceof Error ? err.message : String(err), conn.password);
    await engine.run("backup_finish", [id, "failed", null, null, null, null, null, detail]);
    throw new KeelError(
      "backup_failed",
      { target: `${target.name} (${conn.label})`, detail },
      { cause: err },
    );
  } finally {
    await pool.end();
  }
  await applyKeep(engine, config, target.name);
  return (await getBackup(engine, id)) as BackupRecord;
}

/** The SHA-256 of a file, hex. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * `keep.count` and `keep.days` for one target: older successful dumps are deleted with their
 * record, failed records with them. The newest successful dump is always kept.
 */
async function applyKeep(engine: Engine, config: BackupsConfig, target: string): Promise<void> {
  const { count, days } = config.keep ?? {};
  if (count === undefined && days === undefined) return;
  const rows = await listBackups(engine, 10_000, target);
  const succeeded = rows.filter((r) => r.status === "succeeded");
  const cutoff = days === undefined ? undefined : Date.now() - days * 86_400_000;
  const expired = rows.filter((r) => {
    if (r.status === "running" || r.id === succeeded[0]?.id) return false;
    if (r.status === "failed") return cutoff !== undefined && r.startedAt.getTime() < cutoff;
    const rank = succeeded.indexOf(r);
    return (count !== undefined && rank >= count) || (cutoff !== undefined && r.startedAt.getTime() < cutoff);
  });
  for (const r of expired) if (r.path) await rm(r.path, { force: true });
  if (expired.length > 0) await engine.run("backup_forget", [expired.map((r) => r.id)]);
}
