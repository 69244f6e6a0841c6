/** A database URL split for the client tools: the URL without its password, and the password. */
export interface Connection {
  /** The URL with the password removed: safe for a command line. */
  url: string;
  password: string | undefined;
  /** `host:port/database`: what rows, logs and output show. */
  label: string;
}

/**
 * Splits a `postgres://` URL so the password never reaches a command line, a row or a log.
 *
 * @example
 * connection("postgres://app:s3cret@db:5432/shop").label; // "db:5432/shop"
 */
export function connection(databaseUrl: string): Connection {
  const u = new URL(databaseUrl);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = "";
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || decodeURIComponent(u.username);
  return { url: u.toString(), password, label: `${u.hostname}:${u.port || "5432"}/${database}` };
}

/** The same server's URL with another database. */
export function withDatabase(databaseUrl: string, database: string): string {
  const u = new URL(databaseUrl);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}
