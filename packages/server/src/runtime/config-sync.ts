import { hostname } from "node:os";
import { basename } from "node:path";
import type { Engine, MutationOptions, SyncResult } from "@keel/engine";
import { backupSchedules } from "../backups/jobs.js";
import type { KeelConfigFile } from "../config/file.js";

/**
 * Who the config file's changes are recorded as: `config:<file name>` (`config:none` without a
 * file), from the host that applied them. Replicas starting together race to sync; the first
 * writes the changes and their rows, the others find nothing to change and write none.
 *
 * @example
 * configSync("/srv/app/keel.config.yaml"); // { by: "config:keel.config.yaml", source: "web-1" }
 */
export function configSync(path: string | undefined): MutationOptions {
  return { by: `config:${path ? basename(path) : "none"}`, source: hostname() };
}

/**
 * Applies the config file's queues: each is created or has its settings replaced; the pause
 * state is runtime state and is kept. Queues missing from the file are left alone (they may
 * still hold jobs). Running it again changes nothing; each creation or change writes its audit
 * row (`queue.configure`) as `as.by`.
 */
export async function syncQueues(
  engine: Engine,
  config: KeelConfigFile,
  as: MutationOptions = {},
): Promise<string[]> {
  const names = Object.keys(config.queues ?? {});
  for (const name of names) await engine.upsertQueue(name, config.queues?.[name] ?? {}, as);
  return names;
}

/**
 * Makes the database's config-managed schedules match the file's `schedules:` and those
 * `backups:` asks for (`keel.backup`, `keel.backup-drill`): creates, updates, removes those no
 * longer listed. Schedules made through the API are left alone.
 * Running it again with the same file changes nothing (not even updated_at). Each change
 * writes its audit row as `as.by` in the sync's transaction.
 */
export async function syncSchedules(
  engine: Engine,
  config: KeelConfigFile,
  as: MutationOptions = {},
): Promise<SyncResult> {
  return engine.schedules.sync({ ...config.schedules, ...backupSchedules(config.backups) }, as);
}

/**
 * Applies the config file's `audit.retentionDays` (none: entries are kept forever) for every
 * replica's maintenance. A change writes its `audit.configure` row as `as.by`; the same value
 * again writes nothing.
 */
export async function syncAudit(
  engine: Engine,
  config: KeelConfigFile,
  as: MutationOptions = {},
): Promise<{ retentionDays: number | null; changed: boolean }> {
  const retentionDays = config.audit?.retentionDays ?? null;
  const { changed } = await engine.auditLog.setRetention(retentionDays, as);
  return { retentionDays, changed };
}
