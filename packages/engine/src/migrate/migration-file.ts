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

/** `migrations/<NNNN>_<name>.sql`; other files there are not migrations. */
const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const MARK = /\bkeel:([a-z]+)\b/;

/**
 * The migrations among the files of `packages/engine/migrations/`, in order: what the generator
 * (scripts/generate.ts) writes into `src/generated/migrations.ts`. Throws when a migration has no
 * mark or the numbers have a gap.
 */
export function migrationsFromFiles(files: readonly { file: string; sql: string }[]): Migration[] {
  const list: Migration[] = [];
  for (const { file, sql } of [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    const match = FILE.exec(file);
    if (!match) continue;
    list.push({ id: Number(match[1]), name: match[2] as string, kind: migrationKind(file, sql), sql });
  }
  list.forEach((m, i) => {
    if (m.id !== i + 1)
      throw new Error(`migrations must be numbered 0001, 0002, … without gaps; found ${m.id} at ${i + 1}`);
  });
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
