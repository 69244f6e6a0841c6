import { type ErrorCode, isKeelError, KeelError } from "@keel/engine";

/**
 * Exit codes of the operator commands, stable for scripts (documented in docs/cli.md).
 * Commander's own usage errors (missing argument, unknown option, bad choice) exit 2 too.
 */
export const EXIT = {
  ok: 0,
  /** Anything unexpected: a bug, or a database error that is not about reaching it. */
  failure: 1,
  /** The command line or the environment is wrong. */
  usage: 2,
  notFound: 3,
  /** The change was refused: the job is already finished, not retryable, … */
  conflict: 4,
  /** Postgres cannot be reached (or the embedded one is not ready). Retrying later may help. */
  databaseUnavailable: 5,
  /** The schema is not at this binary's version: run `keel migrate`, or upgrade Keel. */
  schemaMismatch: 6,
  /** `keel doctor` found at least one check that fails. */
  checksFailed: 7,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  invalid_argument: EXIT.usage,
  unknown_option: EXIT.usage,
  invalid_switch: EXIT.usage,
  invalid_source: EXIT.usage,
  invalid_config: EXIT.usage,
  invalid_import: EXIT.usage,
  invalid_schema_name: EXIT.usage,
  reserved_schema_name: EXIT.usage,
  queue_not_found: EXIT.notFound,
  job_not_found: EXIT.notFound,
  token_not_found: EXIT.notFound,
  event_not_found: EXIT.notFound,
  source_not_found: EXIT.notFound,
  job_not_retryable: EXIT.conflict,
  job_already_finished: EXIT.conflict,
  dedupe_key_taken: EXIT.conflict,
  source_managed_by_config: EXIT.conflict,
  enqueue_disabled: EXIT.conflict,
  schedule_exists: EXIT.conflict,
  database_unavailable: EXIT.databaseUnavailable,
  database_not_found: EXIT.databaseUnavailable,
  embedded_postgres_failed: EXIT.databaseUnavailable,
  data_dir_in_use: EXIT.databaseUnavailable,
  backup_not_found: EXIT.notFound,
  restore_target_not_empty: EXIT.conflict,
  backup_tool_missing: EXIT.usage,
  schema_outdated: EXIT.schemaMismatch,
  schema_too_new: EXIT.schemaMismatch,
};

/** A CLI-only refusal that reuses a registered code with a message fitted to the situation. */
export class OperatorError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "OperatorError";
  }
}

// Socket errors, connection-class SQLSTATEs (08…), shutdown (57P0…), bad password, no database.
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
]);
const UNREACHABLE_SQLSTATE = /^(08|57P0|28000|28P01|3D000)/;

/** True when `err` says Postgres could not be reached or used, rather than a query going wrong. */
export function isConnectionError(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? "");
  const message = String((err as { message?: unknown })?.message ?? "");
  return (
    NETWORK.has(code) ||
    UNREACHABLE_SQLSTATE.test(code) ||
    /Connection terminated|timeout expired|connection timeout/i.test(message)
  );
}

/** The error to show: connection failures become `database_unavailable`, which says what to check. */
export function normalizeError(err: unknown): unknown {
  if (isKeelError(err) || err instanceof OperatorError) return err;
  if (isConnectionError(err)) {
    return new KeelError("database_unavailable", { detail: (err as Error).message }, { cause: err });
  }
  return err;
}

/** The exit code for an error (after `normalizeError`). */
export function exitCodeFor(err: unknown): number {
  if (err instanceof OperatorError) return err.exitCode;
  if (isKeelError(err)) return BY_CODE[err.code] ?? EXIT.failure;
  return EXIT.failure;
}
