import type {
  AuditRecord,
  JobRecord,
  JobSummary,
  JobTarget,
  QueueInfo,
  Switch as SwitchInfo,
  TokenInfo,
} from "@keel/engine";
import type {
  AuditEntry,
  Job,
  JobSummary as JobSummaryOut,
  Queue,
  Switch,
  Token,
} from "@keel/protocol/contracts";
import type { z } from "zod";

// Engine records become the contract's JSON shapes: ISO timestamps, no internals.

const iso = (d: Date | string) => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d));

// A header whose name suggests a credential shows only `${VAR}` references, never a literal value.
const CREDENTIAL = /auth|token|secret|key|password|signature|cookie|session/i;
const ONLY_REFERENCES = /^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|[^$])*$/;

// The authority's `user[:password]@` part: up to the last `@` before the path, query or fragment.
const URL_USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/;

/**
 * The URL with any `user:password@` replaced by `[redacted]@`. Such URLs are refused when a
 * target is written; this covers rows stored before that check.
 *
 * @example
 * redactUrlCredentials("http://u:pw@host/x"); // "http://[redacted]@host/x"
 */
export function redactUrlCredentials(url: string): string {
  return url.replace(URL_USERINFO, "$1[redacted]@");
}

/**
 * The target as stored, with literal credential header values replaced by `[redacted]`, and
 * credentials in its URL too.
 */
export function presentTarget(target: JobTarget): JobTarget {
  if (!("url" in target)) return target;
  const url = redactUrlCredentials(target.url);
  if (!target.headers) return url === target.url ? target : { ...target, url };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers)) {
    const literalSecret = CREDENTIAL.test(name) && !(value.includes("${") && ONLY_REFERENCES.test(value));
    headers[name] = literalSecret ? "[redacted]" : value;
  }
  return { ...target, url, headers };
}

export function presentSummary(j: JobSummary): z.input<typeof JobSummaryOut> {
  return {
    id: j.id,
    queue: j.queue,
    target: presentTarget(j.target),
    state: j.state,
    priority: j.priority,
    attempt: j.attempt,
    maxAttempts: j.maxAttempts,
    dedupeKey: j.dedupeKey,
    tenant: j.tenant,
    lastError: withoutStack(j.lastError),
    runAt: iso(j.runAt),
    createdAt: iso(j.createdAt),
    finishedAt: isoOrNull(j.finishedAt),
    origin: j.origin,
  };
}

export function presentJob(j: JobRecord): z.input<typeof Job> {
  return {
    ...presentSummary(j),
    payload: j.payload,
    backoff: j.backoff,
    leaseUntil: isoOrNull(j.leaseUntil),
    workerId: j.workerId,
    attempts: j.attempts.map((a) => ({
      attempt: a.attempt,
      workerId: a.workerId,
      outcome: a.outcome,
      error: withoutStack(a.error),
      startedAt: iso(a.startedAt),
      finishedAt: iso(a.finishedAt),
      responseStatus: a.responseStatus ?? null,
      latencyMs: a.latencyMs ?? null,
      responseBody: a.responseBody ?? null,
    })),
  };
}

export function presentQueue(q: QueueInfo): z.input<typeof Queue> {
  return {
    name: q.name,
    paused: q.paused,
    concurrency: q.concurrency,
    tenantConcurrency: q.tenantConcurrency,
    maxAttempts: q.maxAttempts,
    backoff: q.backoff,
    retentionSucceededSeconds: q.retentionSucceededSeconds,
    retentionDeadSeconds: q.retentionDeadSeconds,
    deliveryTimeoutMs: q.deliveryTimeoutMs,
    flow: q.flow,
    counts: q.counts,
    oldestReadyAgeSeconds: q.oldestReadyAgeSeconds,
  };
}

export function presentSwitch(s: SwitchInfo): z.input<typeof Switch> {
  return {
    name: s.name,
    enabled: s.enabled,
    reason: s.reason,
    updatedBy: s.updatedBy,
    updatedAt: iso(s.updatedAt),
  };
}

export function presentToken(t: TokenInfo): z.input<typeof Token> {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    scopes: t.scopes,
    createdBy: t.createdBy,
    createdAt: iso(t.createdAt),
    lastUsedAt: isoOrNull(t.lastUsedAt),
    revokedBy: t.revokedBy,
    revokedAt: isoOrNull(t.revokedAt),
  };
}

export function presentAudit(a: AuditRecord): z.input<typeof AuditEntry> {
  return {
    id: String(a.id),
    at: iso(a.at),
    actor: a.actor,
    action: a.action,
    target: a.target,
    source: a.source,
    details: a.details,
  };
}

/**
 * Job errors as the API shows them: code, name and message, never a stack trace (it names
 * Keel's or the worker's files; operators with database access see it through `keel jobs get`).
 */
function withoutStack<E extends { stack?: string } | null>(error: E): E {
  if (!error || error.stack === undefined) return error;
  const { stack: _stack, ...rest } = error;
  return rest as E;
}
