import { isKeelOwnVariable, targetVariables } from "../delivery/headers.js";
import type { HealthCheck } from "../http/health.js";

/** One `${VAR}` a target header of the config file uses, and where. */
export interface VariableUse {
  variable: string;
  /** `schedules.nightly.target.headers.Authorization`, `sources.stripe.routes.0.target.headers.AUTH`. */
  field: string;
}

/**
 * Every `${VAR}` the config file's schedules and source routes use in their target headers.
 * Reads the file as written, before (or despite) its validation, so a start that fails on a
 * typo still reports the variables in the same round.
 *
 * @example
 * configVariableUses({ schedules: { nightly: { target: { url, headers: { A: "${CRON_SECRET}" } } } } });
 * // [{ variable: "CRON_SECRET", field: "schedules.nightly.target.headers.A" }]
 */
export function configVariableUses(raw: unknown): VariableUse[] {
  const uses: VariableUse[] = [];
  const add = (target: unknown, field: string) => {
    if (!isObject(target) || typeof target.url !== "string" || !isObject(target.headers)) return;
    const headers = Object.fromEntries(
      Object.entries(target.headers).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
    for (const [header, variable] of targetVariables({ url: target.url, headers })) {
      uses.push({ variable, field: `${field}.headers.${header}` });
    }
  };
  if (!isObject(raw)) return uses;
  for (const [name, schedule] of entries(raw.schedules)) {
    if (isObject(schedule)) add(schedule.target, `schedules.${name}.target`);
  }
  for (const [name, source] of entries(raw.sources)) {
    if (!isObject(source) || !Array.isArray(source.routes)) continue;
    source.routes.forEach((route: unknown, i) => {
      if (isObject(route)) add(route.target, `sources.${name}.routes.${i}.target`);
    });
  }
  return uses;
}

/** Uses that stop the start: Keel's own variables, which no target may ever read. */
export function forbiddenVariableProblems(uses: readonly VariableUse[]): string[] {
  return uses
    .filter((u) => isKeelOwnVariable(u.variable))
    .map(
      (u) =>
        `${u.field}: uses \${${u.variable}}, Keel's own configuration, which targets can never read; put the value your endpoint expects in a variable of its own`,
    );
}

/** Uses whose variable is unset or empty in `env`: their deliveries fail until it is set. */
export function unsetVariableUses(uses: readonly VariableUse[], env: NodeJS.ProcessEnv): VariableUse[] {
  return uses.filter((u) => !isKeelOwnVariable(u.variable) && !env[u.variable]);
}

/** How an unset variable is reported (start log, invalid_config, /health): names, never values. */
export function describeUnset(unset: readonly VariableUse[]): string {
  const byVariable = new Map<string, string[]>();
  for (const u of unset) byVariable.set(u.variable, [...(byVariable.get(u.variable) ?? []), u.field]);
  return [...byVariable].map(([variable, fields]) => `\${${variable}} (${fields.join(", ")})`).join("; ");
}

/**
 * The `/health` check `config:variables`: `warn` while a variable the config file's targets use
 * is unset in this process (their runs fail until it is set and Keel restarted), else `pass`.
 *
 * @example
 * buildApp({ ...options, healthChecks: () => variablesHealthCheck(uses, process.env) });
 */
export function variablesHealthCheck(
  uses: readonly VariableUse[],
  env: NodeJS.ProcessEnv,
): Record<string, HealthCheck[]> {
  const unset = unsetVariableUses(uses, env);
  const check: HealthCheck = {
    status: unset.length > 0 ? "warn" : "pass",
    componentType: "component",
    observedValue: new Set(unset.map((u) => u.variable)).size,
    observedUnit: "unset variables",
  };
  if (unset.length > 0) {
    check.output = `not set in Keel's environment, so these targets' deliveries fail: ${describeUnset(unset)}. Set them and restart Keel`;
  }
  return { "config:variables": [check] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function entries(value: unknown): [string, unknown][] {
  return isObject(value) ? Object.entries(value) : [];
}
