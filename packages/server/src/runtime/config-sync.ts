import type { Engine, SyncResult } from "@keel/engine";
import type { KeelConfigFile } from "../config/file.js";

/**
 * Applies the config file's queues: each is created or has its settings replaced; the pause
 * state is runtime state and is kept. Queues missing from the file are left alone (they may
 * still hold jobs). Running it again changes nothing.
 */
export async function syncQueues(engine: Engine, config: KeelConfigFile): Promise<string[]> {
  const names = Object.keys(config.queues ?? {});
  for (const name of names) await engine.upsertQueue(name, config.queues?.[name] ?? {});
  return names;
}

/**
 * Makes the database's config-managed schedules match the file's `schedules:`: creates,
 * updates, removes those no longer listed. Schedules made through the API are left alone.
 * Running it again with the same file changes nothing (not even updated_at).
 */
export async function syncSchedules(engine: Engine, config: KeelConfigFile): Promise<SyncResult> {
  return engine.schedules.sync(config.schedules ?? {});
}
