import { readFileSync } from "node:fs";
import { KeelError } from "../errors.js";
import { SQL_DIR } from "../paths.js";

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
// Postgres keeps these for itself: `create schema pg_catalog` fails, and Keel's tables must not
// land in information_schema.
const RESERVED_SCHEMA = /^(pg_|information_schema$)/;

/** Checks a schema name and returns it quoted for use as an identifier. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new KeelError("invalid_schema_name", { schema });
  if (RESERVED_SCHEMA.test(schema)) throw new KeelError("reserved_schema_name", { schema });
  return `"${schema}"`;
}

/** A named runtime statement, read from `sql/<name>.sql` with the schema filled in. */
export interface Statement {
  /**
   * Prepared-statement name, unique per schema and file; undefined behind a transaction-mode
   * pooler, where a named statement lives on one server connection of many (decision 036).
   */
  name: string | undefined;
  text: string;
}

const raw = new Map<string, string>();
const INCLUDE = /\{\{include ([a-z_]+)\}\}/g;

/**
 * A statement's text with its `{{include <name>}}` lines replaced by `sql/fragments/<name>.sql`:
 * SQL written once (the terminal job transition) and shared by several statements, at no
 * cost per call (decision 034).
 */
function readStatement(file: string): string {
  let text = raw.get(file);
  if (text === undefined) {
    text = readFileSync(`${SQL_DIR}/${file}.sql`, "utf8").replace(INCLUDE, (_, name: string) =>
      readFileSync(`${SQL_DIR}/fragments/${name}.sql`, "utf8").trimEnd(),
    );
    raw.set(file, text);
  }
  return text;
}

/**
 * Loads the statements of one schema, named (prepared once per connection) unless
 * `named: false`. Files use `{{schema}}` for the quoted schema,
 * `{{channel}}` for the notification channel literal and `{{include <fragment>}}` for a shared
 * fragment; nothing else is substituted.
 */
export function loadStatements<const K extends string>(
  schema: string,
  files: readonly K[],
  options: { named?: boolean } = {},
): Record<K, Statement> {
  const quoted = quoteSchema(schema);
  const out = {} as Record<K, Statement>;
  for (const file of files) {
    const text = readStatement(file)
      .replaceAll("{{schema}}", quoted)
      .replaceAll("{{channel}}", `'${schema}:jobs'`);
    out[file] = { name: options.named === false ? undefined : `keel_${schema}_${file}`, text };
  }
  return out;
}

/** The LISTEN/NOTIFY channel of a schema: one per schema so several Keels can share a database. */
export function jobsChannel(schema: string): string {
  return `${schema}:jobs`;
}
