// The public API of @keel/server. Everything else is internal.
export {
  type EnvOverrides,
  type KeelEnv,
  LOG_LEVELS,
  type LogLevel,
  loadEnv,
  ROLES,
  type Role,
  redactDatabaseUrl,
} from "./config/env.js";
export {
  createDeliveryHandler,
  type DeliveryOptions,
  type DeliveryWorkerOptions,
  deliveryStatusClass,
  startDeliveryWorker,
} from "./delivery/deliver.js";
export { signPayload } from "./delivery/signing.js";
export {
  type EmbeddedPostgres,
  type EmbeddedPostgresLog,
  type EmbeddedPostgresOptions,
  startEmbeddedPostgres,
} from "./embedded/postgres.js";
export { type AppOptions, buildApp, VERSION } from "./http/app.js";
export {
  type HealthCheck,
  type HealthReport,
  type HealthStatus,
  liveness,
  readiness,
} from "./http/health.js";
export { createLogger } from "./log.js";
export { type KeelMetrics, registerMetricsRoute } from "./metrics/index.js";
export { type RunningKeel, type StartKeelOptions, startKeel } from "./runtime/start.js";
