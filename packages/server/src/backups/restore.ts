import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, open as openFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type Client, createPool, type Engine, KeelError } from "@keel/engine";
import type { BackupsConfig } from "../config/backups.js";
import { connection } from "./connection.js";
import { backupKeys, decryptStream, MAGIC } from "./encryption.js";
import type { BackupRecord } from "./records.js";
import { storeOf } from "./storage.js";
import { findTool, redact, runTool } from "./tools.js";

/** Where a restore reads keys and credentials from: the `backups:` section and the environment. */
export interface RestoreSource {
  /** Needed for dumps in S3 and encrypted dumps; a local unencrypted dump needs none. */
  config?: BackupsConfig;
  env?: NodeJS.ProcessEnv;
}

/**
 * Fetches a dump to a local file, checking the SHA-256 of the stored bytes against its record
 * and decrypting it when it is encrypted (decision 047). A local unencrypted dump is checked in
 * place. Throws `backup_corrupt` when the object is missing, its SHA-256 differs or a segment
 * fails authentication (a changed dump is never restored), and `backup_key_unknown` when no
 * configured key made it. `cleanup` removes the temporary copy.
 */
export async function fetchVerified(
  backup: BackupRecord,
  source: RestoreSource = {},
): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const env = source.env ?? process.env;
  const corrupt = (detail: string) => new KeelError("backup_corrupt", { id: backup.id, detail });
  const mismatch = (sha256: string) =>
    corrupt(`${backup.path} has SHA-256 ${sha256}, the backup recorded ${backup.sha256}`);
  if (!backup.path) throw corrupt("the backup has no stored file");
  const location = backup.path;
  const store = storeOf(location, source.config, env);
  const stream = await store.get(location);
  if (!stream) throw corrupt(`the file ${location} is missing`);
  if (!location.startsWith("s3://") && !(await startsWithMagic(location))) {
    stream.destroy();
    const sha256 = await fileSha256(location);
    if (sha256 !== backup.sha256) throw mismatch(sha256);
    return { file: location, cleanup: async () => {} };
  }
  const keys = source.config ? backupKeys(source.config, env) : [];
  const dir = await mkdtemp(join(tmpdir(), "keel-restore-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const file = join(dir, "backup.dump");
  const hash = createHash("sha256");
  try {
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(stream, hashing, decryptStream(keys, backup.id), createWriteStream(file, { mode: 0o600 }));
    const sha256 = hash.digest("hex");
    if (sha256 !== backup.sha256) throw mismatch(sha256);
    return { file, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function startsWithMagic(path: string): Promise<boolean> {
  const handle = await openFile(path, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(MAGIC.length), 0, MAGIC.length, 0);
    return bytesRead === MAGIC.length && buffer.equals(MAGIC);
  } finally {
    await handle.close();
  }
}

/** The SHA-256 of a file, hex. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
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
  options: { force?: boolean } & RestoreSource = {},
): Promise<{ restoreMs: number }> {
  const tool = findTool("pg_restore");
  const conn = connection(to);
  const [present] = await on(to, (client) =>
    engine.runOn<{ tables: number }>(client, "restore_target_tables", []),
  );
  if ((present?.tables ?? 0) > 0 && !options.force) {
    throw new KeelError("restore_target_not_empty", { target: conn.label, tables: present?.tables });
  }
  const args = ["--no-owner", "--no-acl", "--exit-on-error", "--no-password", "--single-transaction"];
  if (options.force) args.push("--clean", "--if-exists");
  const { file, cleanup } = await fetchVerified(backup, options).catch((err: unknown) => {
    if (err instanceof KeelError) throw err;
    const detail = `the dump could not be read: ${err instanceof Error ? err.message : String(err)}`;
    throw new KeelError("restore_failed", { id: backup.id, detail }, { cause: err });
  });
  try {
    const started = performance.now();
    await runTool(tool, [...args, `--dbname=${conn.url}`, file], conn.password);
    return { restoreMs: Math.round(performance.now() - started) };
  } catch (err) {
    const detail = redact(err instanceof Error ? err.message : String(err), conn.password);
    throw new KeelError("restore_failed", { id: backup.id, detail }, { cause: err });
  } finally {
    await cleanup();
  }
}
