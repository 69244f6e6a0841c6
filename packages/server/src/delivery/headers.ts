import { type JobOrigin, type JobTarget, KeelError } from "@keel/engine";
import { DELIVERY_HEADER, encodeDeliveryMeta } from "@keel/protocol/delivery";
import { VARIABLE_REFERENCE } from "@keel/protocol/names";
import { DeliveryError, DeliveryRefusedError } from "./errors.js";

/**
 * Which environment variables `${VAR}` in target headers may read (decision 026). Whoever
 * creates a job chooses both its headers and the URL they go to, so nothing is readable unless
 * the operator says so, and Keel's own variables never are.
 */
export interface VariableAccess {
  /** Read at delivery time, never stored. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** KEEL_TARGET_VARIABLES: names (`CRON_SECRET`) or prefixes (`HOOK_*`) any job may read. Default none. */
  allow?: readonly string[];
  /**
   * The variables the config file's schedules and source routes name: readable also by the jobs
   * made from those (origin `config`), whose headers the operator wrote.
   */
  config?: readonly string[];
}

const KEEL_OWN = /^(DATABASE_URL|DIRECT_URL|DATABASE_URL_UNPOOLED|REDIS_URL|KEEL_.*|PG[A-Z]+)$/;
// Set by Keel (signature, framing, identity): a target header may not replace them.
const RESERVED =
  /^(content-type|content-length|transfer-encoding|host|connection|keep-alive|upgrade|expect|te|trailer|webhook-.*|keel-.*|upstash-signature|upstash-message-id|upstash-retried)$/i;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** True for headers Keel sets on every delivery, which a target's headers may not replace. */
export function isReservedHeader(name: string): boolean {
  return RESERVED.test(name);
}

/**
 * Keel's own configuration (DATABASE_URL, DIRECT_URL, DATABASE_URL_UNPOOLED, REDIS_URL, KEEL_*,
 * PG*): never readable through `${VAR}`.
 */
export function isKeelOwnVariable(variable: string): boolean {
  return KEEL_OWN.test(variable);
}

/**
 * The target's headers with every `${VAR}` replaced from the environment. Throws a
 * DeliveryError naming the variable when one is unset or empty (never an empty header), and a
 * DeliveryRefusedError for headers Keel sets itself or variables this job may not read (see
 * `mayRead`). Error messages never contain a resolved value.
 *
 * @example
 * resolveTargetHeaders({ authorization: "Bearer ${CRON_SECRET}" }, { env: { CRON_SECRET: "s3" }, allow: ["CRON_SECRET"] });
 * // { authorization: "Bearer s3" }
 */
export function resolveTargetHeaders(
  headers: Readonly<Record<string, string>> | undefined,
  access: VariableAccess = {},
  origin?: Pick<JobOrigin, "config"> | null,
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
    const value = template.replace(VARIABLE_REFERENCE, (_, variable: string) => {
      if (!mayRead(variable, access, origin)) {
        throw new DeliveryRefusedError(
          "delivery_variable_refused",
          `header '${name}' uses \${${variable}}, which ${refusal(variable, origin)}`,
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

/**
 * Whether a job may read `${variable}`: never Keel's own; otherwise when `access.allow` permits
 * it, or, for a job made from the config file (origin `config`), when the file names it.
 */
export function mayRead(
  variable: string,
  access: Pick<VariableAccess, "allow" | "config">,
  origin?: Pick<JobOrigin, "config"> | null,
): boolean {
  if (isKeelOwnVariable(variable)) return false;
  if (matchesAny(variable, access.allow)) return true;
  return origin?.config === true && matchesAny(variable, access.config);
}

function matchesAny(variable: string, patterns: readonly string[] | undefined): boolean {
  return (patterns ?? []).some((p) =>
    p.endsWith("*") ? variable.startsWith(p.slice(0, -1)) : variable === p,
  );
}

/** Why a variable is refused, in words that say what to do. */
function refusal(variable: string, origin?: Pick<JobOrigin, "config"> | null): string {
  if (isKeelOwnVariable(variable)) return "is Keel's own configuration and never readable by targets";
  const who = origin?.config
    ? "neither KEEL_TARGET_VARIABLES nor this process's config file names"
    : "jobs made through the API may not read";
  return `${who}; to allow it, add it to KEEL_TARGET_VARIABLES (e.g. KEEL_TARGET_VARIABLES=${variable}) on every Keel process and restart them`;
}

/**
 * Every `${VAR}` the target's headers use, with the header: `[["authorization", "CRON_SECRET"]]`.
 * Empty for a `{handler}` target.
 */
export function targetVariables(target: JobTarget): [header: string, variable: string][] {
  if (!("url" in target) || !target.headers) return [];
  const out: [string, string][] = [];
  for (const [name, template] of Object.entries(target.headers)) {
    for (const m of template.matchAll(VARIABLE_REFERENCE)) out.push([name, m[1] as string]);
  }
  return out;
}

/**
 * Refuses, when a target is written through the API, a `${VAR}` its jobs could not read at
 * delivery: throws `target_variable_not_allowed` naming the header, the variable and how to
 * allow it. Jobs made through the API never carry origin `config`, so only `allow` counts.
 *
 * @example
 * checkTargetVariables(call.body.target, env.targetVariables, "target");
 */
export function checkTargetVariables(target: JobTarget, allow: readonly string[], field: string): void {
  for (const [header, variable] of targetVariables(target)) {
    if (!mayRead(variable, { allow })) {
      throw new KeelError("target_variable_not_allowed", {
        field: `${field}.headers.${header}`,
        variable,
        reason: refusal(variable),
      });
    }
  }
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

/** The Standard Webhooks and keel-* headers of one attempt (names and encoding: @keel/protocol/delivery). */
export function keelHeaders(input: KeelHeaderInput): Record<string, string> {
  return {
    ...(input.hasBody ? { "content-type": "application/json" } : {}),
    "user-agent": "Keel-Delivery",
    [DELIVERY_HEADER.id]: input.webhookId,
    [DELIVERY_HEADER.timestamp]: String(input.timestamp),
    [DELIVERY_HEADER.signature]: input.signature,
    ...encodeDeliveryMeta({
      jobId: input.jobId,
      attempt: input.attempt,
      queue: input.queue,
      tenant: input.tenant,
      schedule: input.origin?.schedule ?? null,
      fireTime: input.origin?.fireTime ?? null,
      source: input.origin?.source ?? null,
      event: input.origin?.event ?? null,
    }),
  };
}
