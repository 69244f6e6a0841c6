import { KeelError } from "@keel/engine";
import { type BackupsConfig, variableName } from "../config/backups.js";

/** One database `keel backup now` dumps: `app` (the application's) or `keel` (Keel's schema). */
export interface BackupTarget {
  name: "app" | "keel";
  url: string;
  /** Only this schema (Keel's own); the whole database otherwise. */
  schema?: string;
}

/** Where Keel's own database is, for the `keel` target and as the default drill server. */
export interface KeelDatabase {
  connectionString: string;
  schema: string;
}

/**
 * The targets `backups.what` names, their `${VARIABLE}` read from `env`. An unset variable is a
 * `backup_failed` naming it (its value is never shown).
 */
export function backupTargets(
  config: BackupsConfig,
  env: NodeJS.ProcessEnv,
  keel: KeelDatabase,
): BackupTarget[] {
  const targets: BackupTarget[] = [];
  if (config.what.app !== undefined)
    targets.push({ name: "app", url: resolveVariable(config.what.app, env, "what.app") });
  if (config.what.keel) targets.push({ name: "keel", url: keel.connectionString, schema: keel.schema });
  return targets;
}

/**
 * The value of the `${VARIABLE}` reference at `backups.<field>`; `backup_failed` naming the
 * variable (never a value) when it is unset.
 */
export function resolveVariable(
  reference: string,
  env: NodeJS.ProcessEnv,
  field: string,
  what = "the database URL",
): string {
  const name = variableName(reference);
  const value = env[name]?.trim();
  if (!value) {
    throw new KeelError("backup_failed", {
      target: field.startsWith("what.") ? field.slice(5) : `backups.${field}`,
      detail: `${name} is not set; set it to ${what} (backups.${field} names it)`,
    });
  }
  return value;
}
