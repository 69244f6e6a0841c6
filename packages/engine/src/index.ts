// The public API of @keel/engine. Everything else is internal.

// Names and limits are the protocol's (one definition for the engine, the API and the SDK).
export {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BODY_LIMIT_BYTES,
  EVENT_PATTERN,
  HANDLER_NAME,
  HEADER_NAME,
  isStorableText,
  JSON_PATH,
  MAX_ATTEMPT_TIMEOUT_MS,
  MAX_DELAY_MS,
  MAX_EVENT_ID_LENGTH,
  MAX_PAYLOAD_DEPTH,
  MIN_ATTEMPT_TIMEOUT_MS,
  QUEUE_NAME,
  SOURCE_NAME,
} from "@keel/protocol/names";
export {
  type AnyAuditChange,
  AUDIT_ACTIONS,
  type AuditAction,
  type AuditChange,
  type AuditDetails,
  auditChange,
  jobDestination,
} from "./audit/actions.js";
export { type AuditEntry, AuditLog, type AuditRecord } from "./audit/audit.js";
export {
  CONSOLE_ROLES,
  type ConsoleRole,
  type ConsoleSession,
  ConsoleSessions,
  csrfToken,
  type NewSession,
} from "./console/sessions.js";
export { Availability } from "./db/availability.js";
export { GroupCommit, type GroupCommitOptions } from "./db/group-commit.js";
export type { Client, MutationOptions } from "./db/mutation.js";
export {
  asDatabaseError,
  createPool,
  DEFAULT_CONNECT_TIMEOUT_MS,
  errorText,
  isConnectionError,
  type Pool,
  poolAvailability,
} from "./db/pool.js";
export { jobsChannel, loadStatements, quoteSchema, type Statement, type StatementName } from "./db/sql.js";
export {
  type ClaimCursor,
  type ClaimOptions,
  Engine,
  type EngineOptions,
  type EngineStats,
  type FailInput,
  type Finished,
} from "./engine.js";
export { ERROR_CODES, type ErrorCode, formatError, isKeelError, KeelError } from "./errors.js";
export {
  type BeginInput,
  type BeginResult,
  type FinishInput,
  Idempotency,
  type KeyedWrite,
  Settings,
  type StoredResponse,
} from "./idempotency/idempotency.js";
export { Events } from "./intake/events.js";
export { Intake } from "./intake/intake.js";
export { matchesType, matchingRoutes, routeFlow, routeJobs } from "./intake/routes.js";
export { type SourceChange, Sources } from "./intake/sources.js";
export type * from "./intake/types.js";
export { EVENT_STATUSES, PROVIDERS } from "./intake/types.js";
export {
  DEFAULT_RETENTION_SECONDS,
  DEFAULT_ROUTE_QUEUE,
  DEFAULT_TOLERANCE_SECONDS,
  describeIssue,
  secretVariables,
  sourceDefinitionSchema,
  validateSource,
} from "./intake/validate.js";
export { engineScoped, openResources } from "./internal/resources.js";
export {
  type Clock,
  type PeriodicOptions,
  PeriodicTask,
  type RunReport,
  systemClock,
} from "./maintenance/periodic.js";
export { type RetentionResult, runMaintenance, runRetention } from "./maintenance/retention.js";
export type { MaintenanceResult, MaintenanceTask } from "./maintenance/task.js";
export {
  MAINTENANCE_TASKS,
  Maintenance,
  type MaintenanceOptions,
  type MaintenanceReport,
  startMaintenance,
} from "./maintenance/tasks.js";
export {
  type AppliedMigration,
  judgeSchema,
  newerSchemaNote,
  schemaProblem,
} from "./migrate/compatibility.js";
export {
  codeSchemaVersion,
  KEEL_VERSION,
  knownMigrations,
  LAST_UNMARKED_MIGRATION,
  type Migration,
  type MigrationKind,
  migrationKind,
} from "./migrate/migrations.js";
export {
  assertSchemaCompatible,
  type MigrateResult,
  type MigrationSetOptions,
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
  queueSettingsSchema,
} from "./queue/validate.js";
export { PostgresRateLimitStore, type PostgresRateLimitStoreOptions } from "./ratelimit/postgres-store.js";
export { CronSchedule, validateTimezone } from "./schedules/cron.js";
export type { FireEvent } from "./schedules/fire.js";
export { createScheduler, type Scheduler, type SchedulerOptions } from "./schedules/scheduler.js";
export { Schedules } from "./schedules/schedules.js";
export type * from "./schedules/types.js";
export { type NormalizedSchedule, normalizeSchedule, TENANT_ID } from "./schedules/validate.js";
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
