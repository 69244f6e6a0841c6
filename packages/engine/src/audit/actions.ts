import type { DeadFilter, JobState, QueueSettings } from "../queue/types.js";

/**
 * Every audited action and the details its row carries: the one list the engine, the API, the
 * CLI (and the console to come) write from, so the same change leaves the same row whoever
 * made it. Details never hold a payload, a header or a secret.
 */
export interface AuditDetails {
  /** One job created; where it goes (an HTTP target's origin only, never its path or headers). */
  "job.create": { queue: string; handler: string } | { queue: string; url: string };
  /** A batch of which `created` were new (the rest matched a live dedupe key). */
  "job.create_batch": { count: number; created: number; queues: string[] };
  "job.cancel": { previousState: JobState };
  "job.retry": { queue: string };
  "queue.pause": { wasPaused: boolean };
  "queue.resume": { wasPaused: boolean };
  /** With the filter when one was given (`DeadFilter`: fingerprint, errorCode, olderThanSeconds, tenant). */
  "queue.retry_dead": { retried: number; filter?: DeadFilter };
  "queue.purge_dead": { purged: number; filter?: DeadFilter };
  /** A queue created, or its settings changed (a sync that changes nothing writes no row). */
  "queue.configure": {
    created: boolean;
    /** Every setting as stored, defaults filled in; `flow` only when the queue has flow control. */
    settings: Omit<Required<QueueSettings>, "flow"> & Pick<QueueSettings, "flow">;
  };
  "switch.set": { enabled: boolean; reason: string | null };
  "schedule.create": { cron: string; timezone: string };
  "schedule.update": { cron: string; timezone: string };
  "schedule.delete": null;
  "schedule.pause": { reason: string | null };
  "schedule.resume": { backfill: string | null; backfilled: number };
  "schedule.trigger": { jobs: string[] };
  "tenant.add": null;
  "tenant.remove": null;
  "token.create": { name: string; scopes: string[] };
  "token.revoke": { name: string };
  "source.put": { change: string; provider: string; secrets: number; routes: number };
  "source.delete": null;
  "event.replay": { jobs: number };
  /** A replay by filter: the filter as given (never a payload), and what it did. */
  "event.replay_bulk": { filter: Record<string, unknown>; replayed: number; skipped: number; jobs: number };
  /** The audit log's retention set (null: kept forever), e.g. from the config file's `audit:`. */
  "audit.configure": { retentionDays: number | null; previous: number | null };
  /** Entries older than the retention deleted by maintenance, in the same transaction as this row. */
  "audit.expire": { deleted: number; retentionDays: number; newest: string | null };
}

export type AuditAction = keyof AuditDetails;

/** The actions, for listings and tests. */
export const AUDIT_ACTIONS = [
  "job.create",
  "job.create_batch",
  "job.cancel",
  "job.retry",
  "queue.pause",
  "queue.resume",
  "queue.retry_dead",
  "queue.purge_dead",
  "queue.configure",
  "switch.set",
  "schedule.create",
  "schedule.update",
  "schedule.delete",
  "schedule.pause",
  "schedule.resume",
  "schedule.trigger",
  "tenant.add",
  "tenant.remove",
  "token.create",
  "token.revoke",
  "source.put",
  "source.delete",
  "event.replay",
  "event.replay_bulk",
  "audit.configure",
  "audit.expire",
] as const satisfies readonly AuditAction[];

/** What a change writes to the audit log; who (`actor`) and from where (`source`) come from the caller. */
export interface AuditChange<A extends AuditAction = AuditAction> {
  action: A;
  /** What it was done to: `job:123`, `queue:email`, `switch:process:email`. */
  target: string | null;
  details: AuditDetails[A];
}

/** Any one action's change, checked per action; actions without details may leave them out. */
export type AnyAuditChange = {
  [A in AuditAction]: AuditDetails[A] extends null
    ? { action: A; target: string | null; details?: null }
    : AuditChange<A>;
}[AuditAction];

/** Builds an audit change with its details checked against the action. */
export function auditChange<A extends AuditAction>(
  action: A,
  target: string | null,
  details: AuditDetails[A],
): AuditChange<A> {
  return { action, target, details };
}

/** The `job.create` details of a job: its queue and where it goes, never its payload or headers. */
export function jobDestination(queue: string, target: unknown): AuditDetails["job.create"] {
  const t = target as { handler?: string; url?: string };
  if (typeof t.url === "string") return { queue, url: URL.canParse(t.url) ? new URL(t.url).origin : "" };
  return { queue, handler: String(t.handler) };
}
