import { deleteInBatches, type MaintenanceTask } from "../maintenance/task.js";

/** How long decided schedule slots are kept: 30 days. */
const SCHEDULE_RUNS_SECONDS = 30 * 86_400;

/** Deletes decided schedule runs older than 30 days (queued ones stay until they run). */
export const scheduleRunExpiryTask: MaintenanceTask = {
  name: "schedule-run-expiry",
  group: "retention",
  intervalMs: 60_000,
  once: true,
  run: async (engine, batch) => ({
    deleted: await deleteInBatches(engine, "schedule_runs_expire", [SCHEDULE_RUNS_SECONDS], batch),
  }),
};
