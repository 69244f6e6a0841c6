import { readdirSync, readFileSync } from "node:fs";
import { MIGRATIONS_DIR, PACKAGE_ROOT } from "../paths.js";

/**
 * What a migration does to processes of the previous code still running on the schema:
 * `additive` leaves them working (new tables, nullable columns, dropping what they never read);
 * `breaking` does not (they would fail statements or lose data the new code relies on).
 */
export type MigrationKind = "additive" | "breaking";

export interface Migration {
  id: number;
  name: string;
  kind: MigrationKind;
  sql: string;
}

/**
 * The last migration of the Keel releases that required the schema to be exactly at their own
 * version (before migrations were marked). The `migrations` table keeps a row for each of these
 * and for every breaking migration after, so those releases stay ready through additive ones.
 */
export const LAST_UNMARKED_MIGRATION = 10;

/** This Keel's version, recorded with every migration it applies. */
export const KEEL_VERSION: string = JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, "utf8")).version;

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const MARK = /\bkeel:([a-z]+)\b/;

let cache: Migration[] | undefined;

/** The numbered `.sql` migrations shipped with this engine, in order. */
export function knownMigrations(): Migration[] {
  if (cache) return cache;
  const list: Migration[] = [];
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) {
    const match = FILE.exec(file);
    if (!match) continue;
    const sql = readFileSync(`${MIGRATIONS_DIR}/${file}`, "utf8");
    list.push({ id: Number(match[1]), name: match[2] as string, kind: migrationKind(file, sql), sql });
  }
  list.forEach((m, i) => {
    if (m.id !== i + 1)
      throw new Error(`migrations must be numbered 0001, 0002, … without gaps; found ${m.id} at ${i + 1}`);
  });
  cache = list;
  return list;
}

/**
 * The mark in a migration's header comment: one `-- keel:additive` or `-- keel:breaking` among
 * the comment lines before its first statement. A migration without one does not load.
 */
export function migrationKind(file: string, sql: string): MigrationKind {
  const header: string[] = [];
  for (const line of sql.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    if (!trimmed.startsWith("--")) break;
    header.push(trimmed);
  }
  const marks = header.flatMap((line) => {
    const m = MARK.exec(line);
    return m ? [m[1] as string] : [];
  });
  const [kind] = marks;
  if (marks.length !== 1 || (kind !== "additive" && kind !== "breaking")) {
    throw new Error(
      `migration ${file} needs exactly one "-- keel:additive" or "-- keel:breaking" line in its header comment (found ${marks.length === 0 ? "none" : marks.join(", ")}); see docs/decisions/033-rolling-deploys.md`,
    );
  }
  return kind;
}

/** The newest migration this code knows. */
export function codeSchemaVersion(): number {
  return knownMigrations().length;
}
