import { createHash, type Hash } from "node:crypto";
import { type Readable, Transform } from "node:stream";
import { createPool, type Engine, KeelError } from "@keel/engine";
import type { BackupsConfig } from "../config/backups.js";
import { connection } from "./connection.js";
import { backupKeys, encryptStream } from "./encryption.js";
import { type BackupRecord, getBackup, listBackups } from "./records.js";
import { type BackupStore, backupStore, storeOf } from "./storage.js";
import type { BackupTarget } from "./targets.js";
import { findTool, redact, startTool } from "./tools.js";

/**
 * Dumps one target with `pg_dump -Fc` to the configured store (a directory or an S3 bucket),
 * encrypted when `backups.encryption` is set, recorded in Keel's `backups` table with the
 * SHA-256 and size of the bytes stored: the tables and their row counts are read in the very
 * snapshot the dump uses (exported by a repeatable-read transaction), so a restore can be
 * checked against them. Then applies `keep`. A failure is recorded (its error without the
 * password) and thrown as `backup_failed`.
 */
export async function backupNow(
  engine: Engine,
  config: BackupsConfig,
  target: BackupTarget,
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
): Promise<BackupRecord> {
  const tool = findTool("pg_dump");
  const conn = connection(target.url);
  const [started] = await engine.run<{ id: string; started_at: Date }>("backup_start", [
    target.name,
    conn.label,
  ]);
  const id = started?.id as string;
  const stamp = (started?.started_at ?? new Date()).toISOString().replace(/[:.]/g, "-");
  const name = `${target.name}-${id}-${stamp}.dump${config.encryption ? ".enc" : ""}`;
  const pool = createPool({ connectionString: target.url, max: 1, applicationName: "keel-backup" });
  let stored: string | undefined;
  let store: BackupStore | undefined;
  try {
    store = backupStore(config, env);
    const [key] = backupKeys(config, env);
    const client = await pool.connect();
    let dataAt: Date;
    let tables: Record<string, number>;
    const measured = { bytes: 0, hash: createHash("sha256") };
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
      const args = ["--format=custom", `--snapshot=${snap?.snapshot}`, "--no-password"];
      if (target.schema) args.push(`--schema=${target.schema}`);
      const dump = startTool(tool, [...args, `--dbname=${conn.url}`], conn.password, true, signal);
      // pg_dump → (encrypt) → hash and count → store, streaming: no local copy for S3.
      const body = compose(dump.stdout, key ? encryptStream(key) : undefined, measure(measured));
      // A store that fails stops reading: end pg_dump's output so it exits instead of blocking.
      const putting = store.put(name, body).catch((err: unknown) => {
        dump.stdout.destroy();
        throw err;
      });
      const [put, ran] = await Promise.allSettled([putting, dump.done]);
      if (put.status === "rejected") throw put.reason;
      stored = put.value;
      // A failed pg_dump ends its output early: what was stored is deleted below.
      if (ran.status === "rejected") throw ran.reason;
      await client.query("commit");
    } finally {
      client.release();
    }
    const sha256 = measured.hash.digest("hex");
    await engine.run("backup_finish", [
      id,
      "succeeded",
      dataAt,
      stored,
      measured.bytes,
      sha256,
      tables,
      null,
    ]);
  } catch (err) {
    if (stored && store) await store.delete(stored).catch(() => {});
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
  await applyKeep(engine, config, target.name, env);
  return (await getBackup(engine, id)) as BackupRecord;
}

/** A pass-through that hashes and counts what goes by. */
function measure(into: { bytes: number; hash: Hash }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      into.bytes += chunk.length;
      into.hash.update(chunk);
      done(null, chunk);
    },
  });
}

/** `source` piped through each transform; an error anywhere errors the returned stream. */
export function compose(source: Readable, ...steps: (Transform | undefined)[]): Readable {
  let out: Readable = source;
  for (const step of steps) {
    if (!step) continue;
    const from = out;
    from.on("error", (err) => step.destroy(err));
    out = from.pipe(step);
  }
  return out;
}

/**
 * `keep.count` and `keep.days` for one target: older successful dumps are deleted with their
 * record, failed records with them. The newest successful dump is always kept.
 */
async function applyKeep(
  engine: Engine,
  config: BackupsConfig,
  target: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
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
  // Each from the store that holds it (dumps made before a move from dir to S3 included); one
  // that cannot be deleted now keeps its record, and is tried again after the next backup.
  const forgotten: string[] = [];
  for (const r of expired) {
    try {
      if (r.path) await storeOf(r.path, config, env).delete(r.path);
      forgotten.push(r.id);
    } catch {}
  }
  if (forgotten.length > 0) await engine.run("backup_forget", [forgotten]);
}
