import { randomBytes } from "node:crypto";
import { createPool, type Engine, errorText, KeelError } from "@keel/engine";
import type { BackupsConfig } from "../config/backups.js";
import { withDatabase } from "./connection.js";
import { getBackup } from "./records.js";
import { countTables, restoreBackup } from "./restore.js";
import { backupTargets, type KeelDatabase, resolveVariable } from "./targets.js";

/** What a passing drill measured. */
export interface DrillResult {
  id: string;
  backupId: string;
  target: string;
  /** The measured restore time (RTO), in milliseconds. */
  restoreMs: number;
  /** How old the restored data was when the drill ended (RPO), in seconds. */
  dataAgeSeconds: number;
  tables: number;
  rows: number;
  /** The scratch database it restored into (dropped by now). */
  scratch: string;
}

/**
 * Restores the latest successful backup (of `target` when given) into a scratch database it
 * creates and drops, compares the tables and their row counts with those counted at dump time,
 * and records the restore time (RTO) and the age of the data (RPO). A mismatch, a corrupt dump
 * or a failed restore is recorded and thrown as `drill_failed`.
 */
export async function runDrill(
  engine: Engine,
  config: BackupsConfig,
  env: NodeJS.ProcessEnv,
  keel: KeelDatabase,
  target?: string,
): Promise<DrillResult> {
  const backup = await getBackup(engine, undefined, target);
  if (!backup) throw new KeelError("backup_not_found", { id: target ? `of ${target}` : "(latest)" });
  const [started] = await engine.run<{ id: string }>("drill_start", [backup.id]);
  const id = started?.id as string;
  try {
    const source = backupTargets(config, env, keel).find((t) => t.name === backup.target);
    const serverUrl = config.drills.server
      ? resolveVariable(config.drills.server, env, "drills.server")
      : source?.url;
    if (!serverUrl)
      throw new Error(`backups.what no longer names ${backup.target}; set backups.drills.server`);
    const { restoreMs, restored, scratch } = await inScratchDatabase(serverUrl, async (url, scratch) => {
      const { restoreMs } = await restoreBackup(engine, backup, url, { config, env });
      const restored = await countTables(engine, url, source?.schema);
      if (config.drills.check) await userCheck(url, config.drills.check);
      return { restoreMs, restored, scratch };
    });
    const mismatches = compare(backup.tables ?? {}, restored);
    const dataAgeSeconds = (Date.now() - (backup.dataAt ?? backup.startedAt).getTime()) / 1000;
    if (mismatches.length > 0) {
      const detail = `the restored database differs from the dump: ${mismatches.join("; ")}`;
      await engine.run("drill_finish", [id, "failed", restoreMs, dataAgeSeconds, detail]);
      throw new KeelError("drill_failed", { id: backup.id, detail });
    }
    await engine.run("drill_finish", [id, "succeeded", restoreMs, dataAgeSeconds, null]);
    const counts = Object.values(restored);
    return {
      id,
      backupId: backup.id,
      target: backup.target,
      restoreMs,
      dataAgeSeconds,
      tables: counts.length,
      scratch,
      rows: counts.reduce((a, b) => a + b, 0),
    };
  } catch (err) {
    if (err instanceof KeelError && err.code === "drill_failed") throw err;
    const detail = errorText(err);
    await engine.run("drill_finish", [id, "failed", null, null, detail]);
    throw new KeelError("drill_failed", { id: backup.id, detail }, { cause: err });
  }
}

/** The differences between two `table → rows` maps, one line each. */
export function compare(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [table, rows] of Object.entries(expected)) {
    if (!(table in actual)) out.push(`${table} is missing`);
    else if (actual[table] !== rows) out.push(`${table} has ${actual[table]} rows, the dump had ${rows}`);
  }
  for (const table of Object.keys(actual)) if (!(table in expected)) out.push(`${table} was not in the dump`);
  return out;
}

// The user's own check: its first row's first column must be true.
async function userCheck(url: string, sql: string): Promise<void> {
  const pool = createPool({ connectionString: url, max: 1, applicationName: "keel-drill" });
  try {
    const result = await pool.query({ text: sql, rowMode: "array" });
    const value = (result.rows[0] as unknown[] | undefined)?.[0];
    if (value !== true) {
      throw new Error(
        `backups.drills.check returned ${JSON.stringify(value ?? null)} in the restored database, not true`,
      );
    }
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("backups.drills.check")) throw err;
    throw new Error(`backups.drills.check failed in the restored database: ${errorText(err)}`);
  } finally {
    await pool.end();
  }
}

// A scratch database on the server of `serverUrl`, dropped afterwards whatever happened.
async function inScratchDatabase<T>(
  serverUrl: string,
  fn: (url: string, name: string) => Promise<T>,
): Promise<T> {
  const name = `keel_drill_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const admin = createPool({ connectionString: serverUrl, max: 1, applicationName: "keel-drill" });
  try {
    await admin.query(`create database "${name}"`);
    try {
      return await fn(withDatabase(serverUrl, name), name);
    } finally {
      await admin.query(`drop database if exists "${name}" with (force)`);
    }
  } finally {
    await admin.end();
  }
}
