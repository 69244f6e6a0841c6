import { readdirSync, readFileSync } from "node:fs";
import { MIGRATIONS_DIR } from "../paths.js";

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

let cache: Migration[] | undefined;

/** The numbered `.sql` migrations shipped with this engine, in order. */
export function knownMigrations(): Migration[] {
  if (cache) return cache;
  const list: Migration[] = [];
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) {
    const match = FILE.exec(file);
    if (!match) continue;
    list.push({
      id: Number(match[1]),
      name: match[2] as string,
      sql: readFileSync(`${MIGRATIONS_DIR}/${file}`, "utf8"),
    });
  }
  list.forEach((m, i) => {
    if (m.id !== i + 1)
      throw new Error(`migrations must be numbered 0001, 0002, … without gaps; found ${m.id} at ${i + 1}`);
  });
  cache = list;
  return list;
}

/** The newest migration this code knows. */
export function codeSchemaVersion(): number {
  return knownMigrations().length;
}
