import type { HttpTarget, JobTarget } from "@keel/engine";
import type { DoctorInputs } from "./inputs.js";

/** An HTTP target Keel delivers to on its own: a schedule's, or a webhook source route's. */
export interface TargetUse {
  kind: "schedule" | "route";
  /** `nightly` for a schedule, `stripe.0` for a source's first route. */
  name: string;
  /** Where it is defined, for messages: `schedule nightly`, `source stripe, route 0`. */
  label: string;
  target: HttpTarget;
  /** `config`: from the config file, whose `${VAR}`s its jobs may read; `api`: made through the API. */
  managedBy: "config" | "api";
}

/** A `${VAR}` a stored source's secret reads. */
export interface SecretUse {
  variable: string;
  /** `sources.stripe.secrets.0` */
  field: string;
}

/** A schedule's time zone, wherever it is defined. */
export interface ZoneUse {
  schedule: string;
  timezone: string;
}

/**
 * The targets and time zones in force: the database's schedules and sources, plus those of the
 * config file not (yet) synced to it (`keel doctor` may run before the file's first start).
 */
export async function collectTargets(
  inputs: DoctorInputs,
): Promise<{ targets: TargetUse[]; zones: ZoneUse[]; secrets: SecretUse[] }> {
  const targets: TargetUse[] = [];
  const zones: ZoneUse[] = [];
  const secrets: SecretUse[] = [];
  const seenSchedules = new Set<string>();
  const seenSources = new Set<string>();
  if (inputs.engine) {
    for (const s of await inputs.engine.schedules.list()) {
      seenSchedules.add(s.name);
      zones.push({ schedule: s.name, timezone: s.timezone });
      if (isHttp(s.target)) targets.push(scheduleUse(s.name, s.target, s.managedBy));
    }
    for (const source of await inputs.engine.intake.sources.list()) {
      seenSources.add(source.name);
      source.secrets.forEach((secret, i) => {
        const variable = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(secret)?.[1];
        if (variable) secrets.push({ variable, field: `sources.${source.name}.secrets.${i}` });
      });
      source.routes.forEach((route, i) => {
        if (isHttp(route.target)) targets.push(routeUse(source.name, i, route.target, source.managedBy));
      });
    }
  }
  const config = inputs.file.config;
  for (const [name, s] of Object.entries(config?.schedules ?? {})) {
    if (seenSchedules.has(name)) continue;
    zones.push({ schedule: name, timezone: s.timezone ?? "UTC" });
    if (isHttp(s.target)) targets.push(scheduleUse(name, s.target, "config"));
  }
  for (const [name, source] of Object.entries(config?.sources ?? {})) {
    if (seenSources.has(name)) continue;
    (source.routes ?? []).forEach((route, i) => {
      if (isHttp(route.target)) targets.push(routeUse(name, i, route.target, "config"));
    });
  }
  return { targets, zones, secrets };
}

function isHttp(target: JobTarget | unknown): target is HttpTarget {
  return typeof target === "object" && target !== null && "url" in target && typeof target.url === "string";
}

function scheduleUse(name: string, target: HttpTarget, managedBy: "config" | "api"): TargetUse {
  return { kind: "schedule", name, label: `schedule ${name}`, target, managedBy };
}

function routeUse(source: string, i: number, target: HttpTarget, managedBy: "config" | "api"): TargetUse {
  return { kind: "route", name: `${source}.${i}`, label: `source ${source}, route ${i}`, target, managedBy };
}
