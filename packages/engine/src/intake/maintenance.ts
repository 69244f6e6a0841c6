import type { MaintenanceTask } from "../maintenance/task.js";

/** Deletes webhook events past their source's retention (30 days by default), oldest first. */
export const intakeEventExpiryTask: MaintenanceTask = {
  name: "intake-event-expiry",
  group: "retention",
  intervalMs: 60_000,
  once: true,
  run: async (engine, batch) => ({ deleted: await engine.intake.events.expire(batch) }),
};
