// The public API of @keel/engine. Everything else is internal.

export { type AuditEntry, AuditLog, type AuditRecord } from "./audit/audit.js";
export { asDatabaseError, createPool, type Pool } from "./db/pool.js";
export { jobsChannel, quoteSchema } from "./db/sql.js";
export {
  type ClaimOptions,
  Engine,
  type EngineOptions,
  type EngineStats,
  type FailInput,
  type Finished,
} from "./engine.js";
export { ERROR_CODES, type ErrorCode, isKeelError, KeelError } from "./errors.js";
export {
  type BeginInput,
  type BeginResult,
  Idempotency,
  Settings,
  type StoredResponse,
} from "./idempotency/idempotency.js";
export { openResources } from "./internal/resources.js";
export { type RetentionResult, runMaintenance, runRetention } from "./maintenance/retention.js";
export { codeSchemaVersion, knownMigrations } from "./migrate/migrations.js";
export {
  assertSchemaCurrent,
  type MigrateResult,
  migrate,
  type SchemaStatus,
  schemaStatus,
} from "./migrate/migrator.js";
export { schemaSnapshot } from "./migrate/snapshot.js";
export { Listener, type ListenerOptions } from "./notify/listener.js";
export { backoffDelay, DEFAULT_BACKOFF } from "./queue/backoff.js";
export type * from "./queue/types.js";
export { HTTP_HANDLER } from "./queue/types.js";
export {
  checkSerializable,
  HANDLER_NAME,
  HEADER_NAME,
  isStorableText,
  MAX_DELAY_MS,
  MAX_PAYLOAD_DEPTH,
  QUEUE_NAME,
  queueSettingsSchema,
} from "./queue/validate.js";
export { type Switch, Switches, validateSwitchName } from "./switches/switches.js";
export { generateToken, hashToken, SCOPES, type Scope, type TokenInfo, Tokens } from "./tokens/tokens.js";
export { LeaseLostError, NonRetryableError, RetryAfterError, WorkerShutdownError } from "./worker/errors.js";
export {
  createWorker,
  type Handler,
  type Handlers,
  type JobContext,
  type JobOutcome,
  Worker,
  type WorkerHooks,
  type WorkerOptions,
} from "./worker/worker.js";
