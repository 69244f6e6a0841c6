/**
 * The one registry of Keel's error codes. Every code has an HTTP status and a message
 * template that tells the caller what to change. `docs/reference/errors.md` documents each
 * code; a test fails when one is missing there.
 */
export const ERROR_CODES = {
  invalid_argument: { status: 400, message: "{detail}" },
  unknown_option: {
    status: 400,
    message: "Unknown option '{option}'. Remove it; accepted options: {accepted}.",
  },
  payload_not_serializable: {
    status: 400,
    message:
      "The payload cannot be stored as JSON: {detail}. Pass plain objects, arrays, strings, numbers, booleans or null.",
  },
  payload_too_large: {
    status: 413,
    message:
      "The payload is {size} bytes; the limit is {limit} bytes. Store large data elsewhere and pass a reference.",
  },
  invalid_target: { status: 400, message: "Invalid target: {detail}." },
  target_variable_not_allowed: {
    status: 400,
    message: "{field} uses ${{variable}}, which {reason}.",
  },
  queue_not_found: {
    status: 404,
    message: "Queue '{queue}' does not exist. Enqueue a job to create it, or declare it in the config file.",
  },
  job_not_found: { status: 404, message: "Job {id} does not exist (it may have been removed by retention)." },
  job_not_retryable: {
    status: 409,
    message: "Job {id} is {state}; only dead or cancelled jobs can be retried.",
  },
  dedupe_key_taken: {
    status: 409,
    message:
      "Job {id} cannot be retried while another unfinished job in queue '{queue}' holds its dedupe key '{dedupeKey}'. Cancel that job or let it finish, then retry.",
  },
  flow_options_conflict: {
    status: 400,
    message: "Conflicting flow options: {detail}.",
  },
  job_already_finished: { status: 409, message: "Job {id} is already {state} and cannot be cancelled." },
  schema_too_new: {
    status: 500,
    message:
      "The database schema '{schema}' is at migration {dbVersion}, and migration {migration} is breaking for this Keel ({keelVersion}, which knows migrations up to {codeVersion}). Run {required}, or point KEEL_SCHEMA at another schema.",
  },
  schema_outdated: {
    status: 503,
    message:
      "The database schema '{schema}' is at migration {dbVersion}; this Keel needs {codeVersion}. Run `keel migrate`.",
  },
  migration_failed: {
    status: 500,
    message: "Migration {migration} failed: {detail}. Nothing from it was applied.",
  },
  invalid_schema_name: {
    status: 400,
    message:
      "KEEL_SCHEMA '{schema}' is not a valid schema name. Use lowercase letters, digits and underscores, starting with a letter.",
  },
  invalid_config: {
    status: 500,
    message: "Invalid configuration:\n{problems}\nFix these and start Keel again.",
  },
  port_in_use: {
    status: 500,
    message: "Port {port} is already in use. Stop what is using it, or set PORT (or --port) to another port.",
  },
  data_dir_in_use: {
    status: 409,
    message:
      "Another Keel process (pid {pid}) is running the embedded Postgres in {dataDir}. Stop it, or set KEEL_DATA_DIR to another directory.",
  },
  database_unavailable: {
    status: 503,
    message: "Postgres is not reachable: {detail}. Check DATABASE_URL and that the server is running.",
  },
  embedded_postgres_failed: { status: 500, message: "The embedded Postgres could not start: {detail}." },
  enqueue_disabled: {
    status: 503,
    message:
      "Enqueueing into queue '{queue}' is switched off (switch enqueue:{queue}). Turn the switch on to accept jobs again.",
  },
  invalid_switch: {
    status: 400,
    message:
      "'{name}' is not a switch. Use scheduling, scheduling:<schedule>, enqueue:<queue> or process:<queue>.",
  },
  token_not_found: { status: 404, message: "Token {id} does not exist." },
  unauthorized: {
    status: 401,
    message: "{detail} Send 'Authorization: Bearer <token>' with a live token (keel tokens create).",
  },
  forbidden: {
    status: 403,
    message: "This token lacks the '{scope}' scope needed here. Use a token that has it.",
  },
  too_many_requests: {
    status: 429,
    message: "Too many requests: {detail} Retry after {retryAfter} seconds.",
  },
  console_sign_in_failed: {
    status: 401,
    message:
      "Sign-in failed: {detail} Use an admin or read token (keel tokens create), or the KEEL_CONSOLE_PASSWORD.",
  },
  console_signed_out: {
    status: 401,
    message: "Your console session has ended (signed out, idle or expired). Sign in again.",
  },
  console_role_refused: {
    status: 403,
    message:
      "This console session has the '{role}' role; '{needed}' is needed. Sign in with a token that has it.",
  },
  console_csrf_rejected: {
    status: 403,
    message:
      "Refused a cross-site or stale form ({detail}). Reload the console page and submit the form again.",
  },
  not_found: { status: 404, message: "No route {method} {path}. GET /v1/openapi.json lists the routes." },
  unsupported_media_type: {
    status: 415,
    message: "Send the body as JSON with 'content-type: application/json' (got '{contentType}').",
  },
  idempotency_in_flight: {
    status: 409,
    message: "A request with this Idempotency-Key is still running. Retry once it has finished.",
  },
  idempotency_key_reused: {
    status: 422,
    message:
      "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
  },
  internal_error: { status: 500, message: "{detail}" },
  worker_stopped: { status: 409, message: "The worker is stopped; create a new one to process jobs again." },
  unknown_handler: { status: 500, message: "No handler named '{handler}' is registered in this worker." },
  invalid_cron: {
    status: 400,
    message:
      "cron: '{cron}' is not a valid cron expression ({detail}). Use five fields (minute hour day month weekday), or six with seconds first, e.g. '0 6 * * *'.",
  },
  invalid_timezone: {
    status: 400,
    message: "timezone: '{timezone}' is not an IANA time zone. Use a name like 'Europe/London' or 'UTC'.",
  },
  invalid_schedule: { status: 400, message: "Schedule '{name}': {detail}." },
  schedule_not_found: {
    status: 404,
    message: "Schedule '{name}' does not exist. `GET /v1/schedules` (or `keel schedules list`) lists them.",
  },
  schedule_managed_by_config: {
    status: 409,
    message:
      "Schedule '{name}' is declared in the config file; change it there (the next start syncs it), or remove it from the file first.",
  },
  invalid_import: {
    status: 400,
    message: "Cannot import {file}: {detail}",
  },
  schedule_exists: {
    status: 409,
    message:
      "{file} already declares {names}. Pass --force to replace them, or rename or remove them in {file} first.",
  },
  invalid_tenant: {
    status: 400,
    message:
      "Tenant '{tenant}': use 1–128 letters, digits and _.:@- (it is used in URLs and headers as given).",
  },
  tenant_not_found: { status: 404, message: "Tenant '{tenant}' is not in the registry." },
  invalid_policy: {
    status: 400,
    message: "Rate-limit policy '{policy}': {detail}.",
  },
  policy_not_found: {
    status: 404,
    message:
      "No rate-limit policy named '{policy}'. Declare it (SDK: createRateLimiter's policies; server: policies: in the config file); declared: {declared}.",
  },
  idempotency_key_required: {
    status: 400,
    message:
      "This request needs an Idempotency-Key header (1–255 characters, unique per operation). Generate one per operation and send it again on every retry.",
  },
  idempotency_unavailable: {
    status: 503,
    message:
      "The Idempotency-Key store could not be reached, so the request was not run: {detail}. Retry with the same key.",
  },
  delivery_verification_failed: {
    status: 401,
    message: "Keel delivery refused ({reason}): {detail}.",
  },
  invalid_source: { status: 400, message: "Source '{source}': {detail}." },
  source_not_found: {
    status: 404,
    message:
      "Source '{source}' does not exist. Declare it under sources: in the config file, or create it with PUT /v1/sources/{source}.",
  },
  source_managed_by_config: {
    status: 409,
    message:
      "Source '{source}' is declared in the config file; change it there (the next start syncs it), or remove it from the file first.",
  },
  event_not_found: {
    status: 404,
    message: "Event {id} does not exist (it may have been removed by its source's retention).",
  },
  unknown_source: {
    status: 404,
    message: "No webhook source named '{source}'. Check the URL configured at the provider: …/in/<source>.",
  },
  missing_signature: {
    status: 400,
    message: "The request has no {header} header; source '{source}' accepts signed requests only.",
  },
  bad_signature: {
    status: 401,
    message:
      "The request's signature does not match any secret of source '{source}' ({detail}). Check the signing secret configured for this source.",
  },
  timestamp_out_of_tolerance: {
    status: 401,
    message:
      "The signed timestamp is {age} seconds from Keel's clock; source '{source}' accepts at most {tolerance}. Check the sender's clock; an old request may be a replay.",
  },
  body_too_large: {
    status: 413,
    message:
      "The body is {size} bytes; source '{source}' accepts at most {limit}. Raise the source's bodyLimitBytes if such requests are genuine.",
  },
  source_misconfigured: {
    status: 503,
    message:
      "Source '{source}' cannot verify requests: {detail}. Fix its configuration; providers retry refused deliveries.",
  },
  event_id_too_long: {
    status: 400,
    message:
      "The event id is {length} characters; source '{source}' accepts at most {limit}. Send a shorter id (for an hmac or bearer source, point eventId at a shorter field).",
  },
  database_not_found: {
    status: 503,
    message:
      "The database '{database}' does not exist on the Postgres server. Create it (createdb {database}, or CREATE DATABASE in psql), or fix the database name at the end of DATABASE_URL.",
  },
  reserved_schema_name: {
    status: 400,
    message:
      "KEEL_SCHEMA '{schema}' is reserved by Postgres (names starting with pg_, and information_schema). Set KEEL_SCHEMA to a schema of Keel's own, e.g. keel.",
  },
  method_not_allowed: {
    status: 405,
    message: "{method} is not allowed on {path}; use {allowed}.",
  },
  invalid_url: {
    status: 400,
    message:
      "The request path '{path}' is not valid: a percent-encoded part does not decode to UTF-8. Encode the path as UTF-8 (encodeURIComponent).",
  },
  uri_too_long: {
    status: 414,
    message:
      "A part of the request path is longer than {limit} characters; no name or id Keel routes is that long.",
  },
  headers_too_large: {
    status: 431,
    message:
      "The request's headers are larger than {limit} bytes. Send fewer or smaller headers (large cookies?); Keel reads at most that much.",
  },
  request_timeout: {
    status: 408,
    message: "The request was not received completely within {seconds} seconds. Send it again.",
  },
  qstash_unsupported: {
    status: 400,
    message:
      "{feature} is not supported by Keel's QStash-compatible API: {hint}. docs/qstash.md lists what is.",
  },
  qstash_not_configured: {
    status: 503,
    message:
      "Keel's QStash-compatible API is off: set KEEL_QSTASH_CURRENT_SIGNING_KEY and KEEL_QSTASH_NEXT_SIGNING_KEY (the keys your receivers verify with) on every Keel process and restart.",
  },
  backup_tool_missing: {
    status: 500,
    message:
      "{tool} was not found on PATH nor beside the embedded Postgres. Install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq) or put {tool} on PATH.",
  },
  backup_failed: { status: 500, message: "The backup of {target} failed: {detail}." },
  backup_not_found: {
    status: 404,
    message: "Backup {id} does not exist, or has not succeeded. `keel backup list` shows the backups.",
  },
  backup_corrupt: {
    status: 500,
    message:
      "Backup {id} is corrupt or missing: {detail}. Do not restore it; take a new backup (keel backup now) and find what changed the file.",
  },
  backup_key_invalid: {
    status: 500,
    message:
      "{field} is not a 32-byte key in base64 (it decodes to {bytes} bytes). Make one with: openssl rand -base64 32",
  },
  backup_key_unknown: {
    status: 500,
    message:
      "Backup {id} was encrypted with key {keyId}, and no key of backups.encryption has that id (configured: {configured}). Add the key it was made with to backups.encryption.previousKeys.",
  },
  restore_target_not_empty: {
    status: 409,
    message:
      "The target database {target} is not empty ({tables} tables). Restore into a new database, or pass --force to replace what it holds.",
  },
  restore_failed: { status: 500, message: "Restoring backup {id} failed: {detail}." },
  drill_failed: {
    status: 500,
    message:
      "The restore drill of backup {id} failed: {detail}. The backup cannot be trusted until a drill passes.",
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * A registry code's message with its `{param}`s filled in; a parameter not given stays as
 * `{param}`, so a missing one shows rather than reading as an empty word.
 *
 * @example
 * formatError("job_not_found", { id: "42" }); // "Job 42 does not exist (it may have been removed by retention)."
 */
export function formatError(code: ErrorCode, params: Record<string, unknown> = {}): string {
  return ERROR_CODES[code].message.replace(/\{(\w+)\}/g, (_, key: string) =>
    String(params[key] ?? `{${key}}`),
  );
}

/** Error thrown by Keel with a stable `code`, an HTTP `status` and a message saying what to change. */
export class KeelError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, params: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(formatError(code, params), options);
    this.name = "KeelError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = params;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** True when `err` is a KeelError, optionally with the given code. */
export function isKeelError(err: unknown, code?: ErrorCode): err is KeelError {
  return err instanceof KeelError && (code === undefined || err.code === code);
}
