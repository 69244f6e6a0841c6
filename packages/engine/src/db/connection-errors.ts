// Connection-level failures: the server is gone, restarting, refusing or not answering.
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "57P01", // admin_shutdown: terminating connection due to administrator command
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now: the database system is starting up / shutting down
  "53300", // too_many_connections
  "25006", // read_only_sql_transaction: connected to a standby (failover in progress)
]);
const CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed|Connection ended|read ECONNRESET|write EPIPE)/i;

/** True for errors that say Postgres cannot be reached, not that a statement was wrong. */
export function isConnectionError(err: unknown): boolean {
  // By shape as well as class: a second copy of the engine (tests run it from source) has its own.
  const named = err as { name?: unknown; code?: unknown } | null;
  if (named?.name === "KeelError") return named.code === "database_unavailable";
  if (err instanceof AggregateError) return err.errors.some(isConnectionError);
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === "string" && (CONNECTION_CODES.has(e.code) || e.code.startsWith("08"))) return true;
  return typeof e.message === "string" && CONNECTION_MESSAGES.test(e.message);
}

/**
 * An error as one line: its message, prefixed with its code (`ECONNREFUSED: connect …`) when the
 * message does not already name it. Connecting to a host with several addresses fails with an
 * AggregateError and no message: its first error is described instead.
 */
export function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorText(err.errors[0]);
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error && err.message ? err.message : String(err);
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message;
}
