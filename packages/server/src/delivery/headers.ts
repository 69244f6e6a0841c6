import { DeliveryError, DeliveryRefusedError } from "./errors.js";

/** Which environment variables `${VAR}` in target headers may read. */
export interface VariableAccess {
  /** Read at delivery time, never stored. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Names (`CRON_SECRET`) or prefixes (`HOOK_*`) that may be read. Unset: any variable except
   * Keel's own (DATABASE_URL, REDIS_URL, KEEL_*, PG*), because whoever may enqueue a job
   * chooses both the header and the URL it is sent to.
   */
  allow?: readonly string[];
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const KEEL_OWN = /^(DATABASE_URL|REDIS_URL|KEEL_.*|PG[A-Z]+)$/;
// Set by Keel (signature, framing, identity): a target header may not replace them.
const RESERVED =
  /^(content-type|content-length|transfer-encoding|host|connection|keep-alive|upgrade|expect|te|trailer|webhook-.*|keel-.*)$/i;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The target's headers with every `${VAR}` replaced from the environment. Throws a
 * DeliveryError naming the variable when one is unset or empty (never an empty header), and a
 * DeliveryRefusedError for headers Keel sets itself or variables targets may not read. Error
 * messages never contain a resolved value.
 *
 * @example
 * resolveTargetHeaders({ authorization: "Bearer ${CRON_SECRET}" }, { env: { CRON_SECRET: "s3" } });
 * // { authorization: "Bearer s3" }
 */
export function resolveTargetHeaders(
  headers: Readonly<Record<string, string>> | undefined,
  access: VariableAccess = {},
): Record<string, string> {
  const env = access.env ?? process.env;
  const out: Record<string, string> = {};
  for (const [name, template] of Object.entries(headers ?? {})) {
    if (RESERVED.test(name)) {
      throw new DeliveryRefusedError(
        "delivery_invalid_target",
        `header '${name}' is set by Keel and cannot come from the target; remove it from the target's headers`,
      );
    }
    const value = template.replace(VARIABLE, (_, variable: string) => {
      if (!mayRead(variable, access.allow)) {
        throw new DeliveryRefusedError(
          "delivery_variable_refused",
          `header '${name}' uses \${${variable}}, which targets may not read${access.allow ? " (not in the allowed variables)" : " (Keel's own configuration)"}`,
        );
      }
      const resolved = env[variable];
      if (resolved === undefined || resolved === "") {
        throw new DeliveryError(
          "delivery_variable_missing",
          `header '${name}' uses \${${variable}}, which is not set in Keel's environment; set it and restart Keel`,
        );
      }
      return resolved;
    });
    if (INVALID_VALUE.test(value)) {
      throw new DeliveryError(
        "delivery_invalid_target",
        `header '${name}' would contain a line break or control character; check the variables it uses`,
      );
    }
    out[name] = value;
  }
  return out;
}

/** Whether `${variable}` may be read: from `allow` when given, else anything but Keel's own variables. */
export function mayRead(variable: string, allow: readonly string[] | undefined): boolean {
  if (!allow) return !KEEL_OWN.test(variable);
  return allow.some((p) => (p.endsWith("*") ? variable.startsWith(p.slice(0, -1)) : variable === p));
}

export interface KeelHeaderInput {
  webhookId: string;
  timestamp: number;
  signature: string;
  jobId: string;
  attempt: number;
  queue: string;
  tenant: string | null;
  /**
   * Scheduled runs add `keel-schedule` and `keel-fire-time` (ISO 8601, UTC); forwarded webhook
   * events `keel-source` and `keel-event` (the stored event's id).
   */
  origin?: { schedule?: string; fireTime?: string; source?: string; event?: string } | null;
  /** True when a body is sent (not for GET). */
  hasBody: boolean;
}

/** The Standard Webhooks and keel-* headers of one attempt. */
export function keelHeaders(input: KeelHeaderInput): Record<string, string> {
  return {
    ...(input.hasBody ? { "content-type": "application/json" } : {}),
    "user-agent": "Keel-Delivery",
    "webhook-id": input.webhookId,
    "webhook-timestamp": String(input.timestamp),
    "webhook-signature": input.signature,
    "keel-job-id": input.jobId,
    "keel-attempt": String(input.attempt),
    "keel-queue": headerSafe(input.queue),
    ...(input.tenant === null ? {} : { "keel-tenant": headerSafe(input.tenant) }),
    ...(input.origin?.schedule ? { "keel-schedule": headerSafe(input.origin.schedule) } : {}),
    ...(input.origin?.fireTime ? { "keel-fire-time": headerSafe(input.origin.fireTime) } : {}),
    ...(input.origin?.source ? { "keel-source": headerSafe(input.origin.source) } : {}),
    ...(input.origin?.event ? { "keel-event": headerSafe(input.origin.event) } : {}),
  };
}

/** Printable ASCII as is; anything else percent-encoded, so any tenant name makes a valid header. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}
