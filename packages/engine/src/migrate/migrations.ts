import { MIGRATIONS } from "../generated/migrations.js";
import { PACKAGE_VERSION } from "../generated/version.js";
import type { Migration } from "./migration-file.js";

export { type Migration, type MigrationKind, migrationKind } from "./migration-file.js";

/**
 * The last migration of the Keel releases that required the schema to be exactly at their own
 * version (before migrations were marked). The `migrations` table keeps a row for each of these
 * and for every breaking migration after, so those releases stay ready through additive ones.
 */
export const LAST_UNMARKED_MIGRATION = 10;

/** This Keel's version, recorded with every migration it applies. */
export const KEEL_VERSION: string = PACKAGE_VERSION;

/**
 * The numbered `.sql` migrations shipped with this engine, in order: `migrations/*.sql`, built
 * into `src/generated/migrations.ts` (decision 035), so nothing is read from disk.
 */
export function knownMigrations(): Migration[] {
  return MIGRATIONS;
}

/** The newest migration this code knows. */
export function codeSchemaVersion(): number {
  return MIGRATIONS.length;
}
