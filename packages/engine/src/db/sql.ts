import { KeelError } from "../errors.js";
import { STATEMENT_SQL, type StatementName } from "../generated/sql.js";

export type { StatementName } from "../generated/sql.js";

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

/**
 * Statements planned at every run, never prepared by name. `idempotency_finish` joins a group's
 * arrays to a table that starts empty and grows by a key other than an id. A prepared
 * statement's generic plan, chosen while the table was small, is a hash join over a sequential
 * scan, and Postgres keeps it however large the table grows (decision 063). Planning takes less
 * than one such scan, and runs once per group. The statements that find jobs by id keep their
 * generic plans: the engine analyses `jobs` when it has grown, and that makes Postgres plan them
 * again (decision 066). `jobs_analyze` is a utility statement, with no plan to keep.
 */
const PLANNED_EACH_RUN: ReadonlySet<StatementName> = new Set(["idempotency_finish", "jobs_analyze"]);

/** A named runtime statement, from `sql/<name>.sql` with the schema filled in. */
export interface Statement {
  /**
   * Prepared-statement name, unique per schema and file; undefined behind a transaction-mode
   * pooler, where a named statement lives on one server connection of many (decision 036),
   * and for the statements planned at every run (`PLANNED_EACH_RUN`).
   */
  name: string | undefined;
  text: string;
}

/**
 * Loads the statements of one schema, named (prepared once per connection) unless
 * `named: false`. Files use `{{schema}}` for the quoted schema,
 * `{{channel}}` for the jobs notification channel literal, `{{tokens_channel}}` for the tokens
 * one, and `{{include <fragment>}}` for a shared
 * fragment of `sql/fragments/` (SQL written once, decision 034); nothing else is substituted.
 * The texts are built into `src/generated/sql.ts` with their includes resolved (decision 035),
 * so nothing is read from disk.
 */
export function loadStatements<const K extends StatementName>(
  schema: string,
  files: readonly K[],
  options: { named?: boolean } = {},
): Record<K, Statement> {
  const quoted = quoteSchema(schema);
  const out = {} as Record<K, Statement>;
  for (const file of files) {
    if (!Object.hasOwn(STATEMENT_SQL, file)) {
      throw new Error(`unknown statement "${file}": @keel/engine has no sql/${file}.sql`);
    }
    const text = STATEMENT_SQL[file]
      .replaceAll("{{schema}}", quoted)
      .replaceAll("{{channel}}", `'${jobsChannel(schema)}'`)
      .replaceAll("{{tokens_channel}}", `'${tokensChannel(schema)}'`);
    const named = options.named !== false && !PLANNED_EACH_RUN.has(file);
    out[file] = { name: named ? `keel_${schema}_${file}` : undefined, text };
  }
  return out;
}

/** The LISTEN/NOTIFY channel of a schema: one per schema so several Keels can share a database. */
export function jobsChannel(schema: string): string {
  return `${schema}:jobs`;
}

/** The channel a token's revocation is announced on (payload: its id), one per schema. */
export function tokensChannel(schema: string): string {
  return `${schema}:tokens`;
}
