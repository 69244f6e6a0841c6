/**
 * The headers of a Keel delivery, once: their names, how Keel writes them and how a receiver
 * reads them back. Every attempt carries the Standard Webhooks trio (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`) and `keel-*` headers naming the job; the signature
 * covers the id (`msg_<job id>`), the timestamp and the body.
 */

export const DELIVERY_HEADER = {
  id: "webhook-id",
  timestamp: "webhook-timestamp",
  signature: "webhook-signature",
  jobId: "keel-job-id",
  attempt: "keel-attempt",
  queue: "keel-queue",
  tenant: "keel-tenant",
  schedule: "keel-schedule",
  fireTime: "keel-fire-time",
  source: "keel-source",
  event: "keel-event",
} as const;

/** What the `keel-*` headers of an attempt say. */
export interface DeliveryMeta {
  jobId: string;
  /** 1 on the first try. */
  attempt: number;
  queue: string;
  tenant: string | null;
  /** Scheduled runs: the schedule and the slot's time (ISO 8601, UTC). */
  schedule: string | null;
  fireTime: string | null;
  /** Forwarded webhook events: the intake source and the stored event's id. */
  source: string | null;
  event: string | null;
}

/** The `webhook-id` of a job's attempts: stable across retries, so receivers can deduplicate. */
export function webhookIdOf(jobId: string): string {
  return `msg_${jobId}`;
}

/** The job a `webhook-id` names, or undefined when it is not one of Keel's. */
export function jobIdOfWebhookId(webhookId: string): string | undefined {
  return /^msg_([0-9]+)$/.exec(webhookId)?.[1];
}

/**
 * A name as a header value: printable ASCII as is, anything else percent-encoded, so any tenant
 * or queue name makes a valid header.
 */
export function encodeHeaderValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/**
 * The name a header value carries. Keel percent-encodes only names holding characters outside
 * printable ASCII, so decoding applies only when the result holds such a character (a name
 * typed as `caf%C3%A9` stays as it is).
 */
export function decodeHeaderValue(value: string): string {
  if (!value.includes("%")) return value;
  try {
    const decoded = decodeURIComponent(value);
    return /[^\x20-\x7e]/.test(decoded) ? decoded : value;
  } catch {
    return value;
  }
}

/** The `keel-*` headers of one attempt (optional ones only when set). */
export function encodeDeliveryMeta(meta: DeliveryMeta): Record<string, string> {
  const out: Record<string, string> = {
    [DELIVERY_HEADER.jobId]: meta.jobId,
    [DELIVERY_HEADER.attempt]: String(meta.attempt),
    [DELIVERY_HEADER.queue]: encodeHeaderValue(meta.queue),
  };
  const optional = [
    [DELIVERY_HEADER.tenant, meta.tenant],
    [DELIVERY_HEADER.schedule, meta.schedule],
    [DELIVERY_HEADER.fireTime, meta.fireTime],
    [DELIVERY_HEADER.source, meta.source],
    [DELIVERY_HEADER.event, meta.event],
  ] as const;
  for (const [name, value] of optional) if (value) out[name] = encodeHeaderValue(value);
  return out;
}

/**
 * The `keel-*` headers read back, or what is missing when they are not a Keel delivery's.
 *
 * @example
 * const meta = decodeDeliveryMeta((name) => request.headers.get(name) ?? undefined);
 */
export function decodeDeliveryMeta(get: (name: string) => string | undefined): DeliveryMeta | string {
  const jobId = get(DELIVERY_HEADER.jobId);
  const attempt = get(DELIVERY_HEADER.attempt);
  const queue = get(DELIVERY_HEADER.queue);
  if (!jobId || !attempt || !/^[0-9]+$/.test(attempt) || !queue) {
    return "keel-job-id, keel-attempt and keel-queue are required";
  }
  const optional = (name: string) => {
    const value = get(name);
    return value ? decodeHeaderValue(value) : null;
  };
  return {
    jobId,
    attempt: Number(attempt),
    queue: decodeHeaderValue(queue),
    tenant: optional(DELIVERY_HEADER.tenant),
    schedule: optional(DELIVERY_HEADER.schedule),
    fireTime: optional(DELIVERY_HEADER.fireTime),
    source: optional(DELIVERY_HEADER.source),
    event: optional(DELIVERY_HEADER.event),
  };
}

/** Whether a content type is JSON (`application/json`, `application/*+json`), parameters aside. */
export function isJsonContentType(contentType: string | null | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]*\+json$/.test(type);
}
