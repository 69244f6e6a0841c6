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
  job_already_finished: { status: 409, message: "Job {id} is already {state} and cannot be cancelled." },
  schema_too_new: {
    status: 500,
    message:
      "The database schema '{schema}' is at migration {dbVersion}, newer than this Keel binary knows ({codeVersion}). Upgrade Keel to the version that migrated it, or point KEEL_SCHEMA at another schema.",
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
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Error thrown by Keel with a stable `code`, an HTTP `status` and a message saying what to change. */
export class KeelError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, params: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    const spec = ERROR_CODES[code];
    super(
      spec.message.replace(/\{(\w+)\}/g, (_, key: string) => String(params[key] ?? `{${key}}`)),
      options,
    );
    this.name = "KeelError";
    this.code = code;
    this.status = spec.status;
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
