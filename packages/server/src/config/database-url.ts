// The pg driver (pg-connection-string 2.x) treats sslmode=prefer, require and verify-ca as
// verify-full — the certificate chain and the host name are checked — and says so in a
// multi-line SECURITY WARNING on stderr in every process that parses such a URL. Its next major
// version gives them libpq's weaker meanings (require: encrypt, check nothing).
const VERIFY_FULL_ALIASES = /([?&])sslmode=(?:prefer|require|verify-ca)(?=&|#|$)/;

/**
 * DATABASE_URL as Keel hands it to the driver: `sslmode=prefer|require|verify-ca` spelled
 * `verify-full`, the check the driver makes for them today, so it does not warn and a driver
 * upgrade cannot weaken the connection. A URL that opts into libpq semantics
 * (`uselibpqcompat=true`) or names another mode is left as it is.
 *
 * @example
 * databaseUrlForDriver("postgres://app@db/app?sslmode=require"); // "postgres://app@db/app?sslmode=verify-full"
 */
export function databaseUrlForDriver(url: string): string {
  if (/[?&]uselibpqcompat=true(?=&|#|$)/.test(url)) return url;
  return url.replace(VERIFY_FULL_ALIASES, "$1sslmode=verify-full");
}
