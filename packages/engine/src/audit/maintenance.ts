import type { MaintenanceTask } from "../maintenance/task.js";

/**
 * Deletes audit entries past the configured retention (`audit: { retentionDays }`; none: kept
 * forever). Hourly: a retention counted in days needs no finer grain, and each batch briefly
 * locks the table against other writers.
 */
export const auditExpiryTask: MaintenanceTask = {
  name: "audit-expiry",
  group: "retention",
  intervalMs: 3_600_000,
  once: true,
  run: (engine, batch) => engine.auditLog.expire(batch),
};
