// Prometheus metrics: the registry the rest of the server records into, and the /metrics route.

export { type BackupFacts, readBackupFacts } from "./backups.js";
export {
  DELIVERY_STATUS_CLASSES,
  type DeliveryStatusClass,
  DURATION_BUCKETS,
  JOB_OUTCOMES,
  type JobMetricOutcome,
  KeelMetrics,
  type KeelMetricsOptions,
  QUEUE_STATES,
} from "./registry.js";
export { type MetricsRouteOptions, registerMetricsRoute } from "./route.js";
