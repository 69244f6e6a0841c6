/**
 * Whether a call may be sent again after a failure that leaves its outcome unknown:
 * - `keyed`: the server honours `Idempotency-Key` here; one key per logical call, reused by every
 *   retry, so a retry after a dropped connection replays the first answer instead of repeating it.
 * - `safe`: repeating it has the same effect as doing it once (reads, pause, set a switch).
 * - `unsafe`: retried only when the request certainly never reached Keel (connection refused, or
 *   429 from the authentication slow-down, which answers before the route runs).
 */
export type RetryMode = "keyed" | "safe" | "unsafe";

export interface Operation {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Under /v1, with `:name` parameters. */
  path: string;
  retry: RetryMode;
}

/**
 * Every /v1 operation the client calls, by the server's `operationId`. A test compares this
 * table with the server's contracts (method, path, and `keyed` exactly where the contract is
 * idempotent), so a new route without a client method fails `npm test`.
 */
export const OPERATIONS = {
  getOpenApi: { method: "GET", path: "/openapi.json", retry: "safe" },
  getDocs: { method: "GET", path: "/docs", retry: "safe" },
  createJob: { method: "POST", path: "/jobs", retry: "keyed" },
  createJobs: { method: "POST", path: "/jobs/batch", retry: "keyed" },
  getJob: { method: "GET", path: "/jobs/:id", retry: "safe" },
  listJobs: { method: "GET", path: "/jobs", retry: "safe" },
  retryJob: { method: "POST", path: "/jobs/:id/retry", retry: "unsafe" },
  cancelJob: { method: "POST", path: "/jobs/:id/cancel", retry: "unsafe" },
  listQueues: { method: "GET", path: "/queues", retry: "safe" },
  pauseQueue: { method: "POST", path: "/queues/:name/pause", retry: "safe" },
  resumeQueue: { method: "POST", path: "/queues/:name/resume", retry: "safe" },
  retryDeadJobs: { method: "POST", path: "/queues/:name/retry-dead", retry: "unsafe" },
  purgeDeadJobs: { method: "POST", path: "/queues/:name/purge-dead", retry: "unsafe" },
  listFailures: { method: "GET", path: "/failures", retry: "safe" },
  listSwitches: { method: "GET", path: "/switches", retry: "safe" },
  setSwitch: { method: "PUT", path: "/switches/:name", retry: "safe" },
  // Not idempotent on the server: a stored replay would keep the token's secret in plain text.
  createToken: { method: "POST", path: "/tokens", retry: "unsafe" },
  listTokens: { method: "GET", path: "/tokens", retry: "safe" },
  revokeToken: { method: "DELETE", path: "/tokens/:id", retry: "safe" },
  listAudit: { method: "GET", path: "/audit", retry: "safe" },
  // Each check spends quota: repeating one after a lost answer would spend it twice.
  checkRateLimit: { method: "POST", path: "/ratelimit/check", retry: "unsafe" },
  listSchedules: { method: "GET", path: "/schedules", retry: "safe" },
  getSchedule: { method: "GET", path: "/schedules/:name", retry: "safe" },
  putSchedule: { method: "PUT", path: "/schedules/:name", retry: "safe" },
  // A repeated delete answers 404, which would read as if the thing never existed.
  deleteSchedule: { method: "DELETE", path: "/schedules/:name", retry: "unsafe" },
  pauseSchedule: { method: "POST", path: "/schedules/:name/pause", retry: "safe" },
  // A resume may backfill skipped slots.
  resumeSchedule: { method: "POST", path: "/schedules/:name/resume", retry: "unsafe" },
  triggerSchedule: { method: "POST", path: "/schedules/:name/trigger", retry: "keyed" },
  listScheduleRuns: { method: "GET", path: "/schedules/:name/runs", retry: "safe" },
  nextFireTimes: { method: "GET", path: "/schedules/:name/next", retry: "safe" },
  listTenants: { method: "GET", path: "/tenants", retry: "safe" },
  putTenant: { method: "PUT", path: "/tenants/:id", retry: "safe" },
  deleteTenant: { method: "DELETE", path: "/tenants/:id", retry: "unsafe" },
  listEvents: { method: "GET", path: "/events", retry: "safe" },
  getEvent: { method: "GET", path: "/events/:id", retry: "safe" },
  // Each replay makes new jobs.
  replayEvent: { method: "POST", path: "/events/:id/replay", retry: "unsafe" },
  replayEvents: { method: "POST", path: "/events/replay", retry: "unsafe" },
  listSources: { method: "GET", path: "/sources", retry: "safe" },
  getSource: { method: "GET", path: "/sources/:name", retry: "safe" },
  putSource: { method: "PUT", path: "/sources/:name", retry: "safe" },
  deleteSource: { method: "DELETE", path: "/sources/:name", retry: "unsafe" },
  listSourceRejections: { method: "GET", path: "/sources/:name/rejections", retry: "safe" },
  // A repeat runs the checks again, probes included: they only read and send unauthenticated requests.
  getDoctor: { method: "GET", path: "/doctor", retry: "safe" },
} as const satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;

/** `/jobs/:id` with `{ id: "42" }` → `/jobs/42` (each value URL-encoded). */
export function fillPath(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === "") throw new TypeError(`missing path parameter '${name}'`);
    return encodeURIComponent(value);
  });
}
