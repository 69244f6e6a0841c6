import type { MaintenanceTask } from "../maintenance/task.js";

/** Deletes Idempotency-Key records past their expiry. */
export const idempotencyExpiryTask: MaintenanceTask = {
  name: "idempotency-expiry",
  group: "retention",
  intervalMs: 60_000,
  once: true,
  run: async (engine, batch) => ({ deleted: await engine.idempotency.expire(batch) }),
};
