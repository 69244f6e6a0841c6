import { KeelError } from "../errors.js";
import { KEEL_VERSION, type MigrationKind } from "./migrations.js";

/** A migration as the database records it. `keelVersion` is null for rows from before marks. */
export interface AppliedMigration {
  id: number;
  name: string;
  kind: MigrationKind;
  keelVersion: string | null;
}

export interface SchemaStatus {
  schema: string;
  /** The newest migration applied to the schema (0 when none). */
  dbVersion: number;
  /** The newest migration this code knows. */
  codeVersion: number;
  /** This code's Keel version. */
  keelVersion: string;
  /** The schema is exactly at this code's version. */
  current: boolean;
  /**
   * This code may run on the schema: it is current, or ahead only by additive migrations
   * (a newer Keel migrated it during a rolling deploy).
   */
  compatible: boolean;
  /** Applied migrations this code does not know, oldest first. */
  newer: AppliedMigration[];
}

/**
 * The compatibility rules: code runs on a schema at its own version, or ahead of it by
 * additive migrations only. A schema behind the code, or ahead by a breaking migration, is
 * refused (see `schemaProblem`).
 */
export function judgeSchema(
  schema: string,
  applied: readonly AppliedMigration[],
  codeVersion: number,
  keelVersion: string = KEEL_VERSION,
): SchemaStatus {
  const dbVersion = applied.reduce((max, m) => Math.max(max, m.id), 0);
  const newer = applied.filter((m) => m.id > codeVersion).sort((a, b) => a.id - b.id);
  const compatible = dbVersion >= codeVersion && newer.every((m) => m.kind === "additive");
  return {
    schema,
    dbVersion,
    codeVersion,
    keelVersion,
    current: dbVersion === codeVersion,
    compatible,
    newer,
  };
}

/** Why this code must not run on the schema, or undefined when it may. */
export function schemaProblem(status: SchemaStatus): KeelError | undefined {
  if (status.compatible) return undefined;
  const { schema, dbVersion, codeVersion, keelVersion } = status;
  if (dbVersion < codeVersion) return new KeelError("schema_outdated", { schema, dbVersion, codeVersion });
  // The newest breaking migration decides the version to run: that Keel knows all before it.
  const breaking = status.newer.filter((m) => m.kind === "breaking").at(-1) as AppliedMigration;
  return new KeelError("schema_too_new", {
    schema,
    dbVersion,
    codeVersion,
    keelVersion,
    migration: `${String(breaking.id).padStart(4, "0")}_${breaking.name}`,
    required: breaking.keelVersion
      ? `Keel ${breaking.keelVersion} or newer`
      : "the Keel release that applied it, or a newer one",
  });
}

/**
 * What `/health` and the start log say about a schema a newer Keel migrated additively, or
 * undefined when the schema is not ahead of this code.
 */
export function newerSchemaNote(status: SchemaStatus): string | undefined {
  if (!status.compatible || status.newer.length === 0) return undefined;
  const first = status.newer[0] as AppliedMigration;
  const last = status.newer.at(-1) as AppliedMigration;
  const by = last.keelVersion ? `a newer Keel (${last.keelVersion})` : "a newer Keel";
  const what =
    first.id === last.id
      ? `Migration ${first.id} was applied by ${by}; it is additive`
      : `Migrations ${first.id}–${last.id} were applied by ${by}; they are additive`;
  return `${what}, so this Keel (${status.keelVersion}, migrations up to ${status.codeVersion}) keeps working. Deploy the newer version to this process when you can.`;
}
