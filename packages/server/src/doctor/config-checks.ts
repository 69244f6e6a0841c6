import { isIP } from "node:net";
import { isKeelError } from "@keel/engine";
import { redactDatabaseUrl } from "../config/env.js";
import { sourceSecretProblems } from "../config/sources.js";
import { configVariableUses, describeUnset, unsetVariableUses } from "../config/variables.js";
import { parseAllowlist } from "../delivery/allowlist.js";
import { isKeelOwnVariable, mayRead, targetVariables } from "../delivery/headers.js";
import { classifyAddress } from "../delivery/ssrf.js";
import type { DoctorInputs } from "./inputs.js";
import type { SecretUse, TargetUse, ZoneUse } from "./targets.js";
import { type DoctorCheck, pass, problem } from "./types.js";

/** What the other checks learnt that the configuration checks need. */
export interface ConfigFacts {
  targets: TargetUse[];
  zones: ZoneUse[];
  /** `${VAR}`s the stored sources' secrets read. */
  secrets: SecretUse[];
  /** This connection to Postgres uses TLS; undefined when Postgres was not reached. */
  postgresTls: boolean | undefined;
  /** Live `keel start` processes serving the API (undefined: unknown). */
  apiReplicas: number | undefined;
}

const METADATA_ADDRESSES: [string, 4 | 6][] = [
  ["169.254.169.254", 4],
  ["100.100.100.200", 4],
  ["fd00:ec2::254", 6],
];

/**
 * The configuration checks: the environment and the file as `keel start` reads them, the
 * database and Redis URLs, the variables targets and sources use, the target rules, time zones.
 */
export function configChecks(inputs: DoctorInputs, facts: ConfigFacts): DoctorCheck[] {
  return [
    environmentCheck(inputs),
    fileCheck(inputs),
    databaseUrlCheck(inputs),
    postgresTlsCheck(inputs, facts),
    redisCheck(inputs, facts),
    variablesCheck(inputs, facts),
    targetVariablesCheck(inputs, facts),
    allowlistCheck(inputs),
    timezonesCheck(facts),
  ];
}

function environmentCheck(inputs: DoctorInputs): DoctorCheck {
  if (inputs.envProblems.length === 0) {
    return pass(
      "config.environment",
      `Keel's environment variables are valid (NODE_ENV=${inputs.env.NODE_ENV ?? "unset"})`,
    );
  }
  return problem(
    "config.environment",
    "fail",
    `keel start would refuse this environment: ${inputs.envProblems.join("; ")}`,
    "correct each variable as its message says (docs/running.md lists them)",
  );
}

function fileCheck(inputs: DoctorInputs): DoctorCheck {
  const { path, problems } = inputs.file;
  if (problems.length === 0)
    return pass("config.file", path ? `${path} is valid` : "no config file (keel.config.* or KEEL_CONFIG)");
  return problem(
    "config.file",
    "fail",
    `keel start would refuse the config file: ${problems.join("; ")}`,
    `correct ${path ?? "the config file"} as each message says`,
  );
}

function databaseUrlCheck(inputs: DoctorInputs): DoctorCheck {
  const url = inputs.env.DATABASE_URL?.trim();
  if (url) return pass("config.database_url", `DATABASE_URL is ${redactDatabaseUrl(url)}`);
  const seen = "DATABASE_URL is not set: Keel uses the embedded Postgres in KEEL_DATA_DIR";
  const fix =
    "set DATABASE_URL to your Postgres (postgres://user:password@host:5432/database?sslmode=verify-full)";
  return problem("config.database_url", inputs.production ? "fail" : "warn", seen, fix);
}

function postgresTlsCheck(inputs: DoctorInputs, facts: ConfigFacts): DoctorCheck {
  const id = "config.postgres_tls";
  const url = inputs.env.DATABASE_URL?.trim();
  const host = url ? postgresHost(url) : "127.0.0.1";
  if (host === undefined || isLoopback(host)) {
    return pass(id, `Postgres is on this machine (${host ?? "a Unix socket"}): TLS not needed`);
  }
  const noVerify = /[?&]sslmode=no-verify(?=&|#|$)/.test(url ?? "");
  if (facts.postgresTls === true && !noVerify) return pass(id, `the connection to ${host} uses TLS`);
  const level = inputs.production ? "fail" : "warn";
  const fix = `add sslmode=verify-full to DATABASE_URL (postgres://…@${host}/…?sslmode=verify-full; with a private CA, also sslrootcert=/path/to/ca.pem)`;
  if (noVerify)
    return problem(
      id,
      level,
      `DATABASE_URL says sslmode=no-verify: the certificate of ${host} is not checked`,
      fix,
    );
  if (facts.postgresTls === undefined) {
    return problem(id, level, `Postgres at ${host} was not reached, and DATABASE_URL asks for no TLS`, fix);
  }
  return problem(
    id,
    level,
    `the connection to Postgres at ${host}, not on this machine, is not encrypted`,
    fix,
  );
}

function redisCheck(inputs: DoctorInputs, facts: ConfigFacts): DoctorCheck {
  const id = "config.redis";
  const redisUrl = inputs.env.REDIS_URL?.trim();
  const policies = Object.entries(inputs.file.config?.policies ?? {});
  if (!redisUrl) {
    const shared = policies.filter(([, p]) => (p.expectedReplicas ?? 1) > 1).map(([name]) => name);
    const replicas = facts.apiReplicas ?? 0;
    if (policies.length > 0 && (shared.length > 0 || replicas > 1)) {
      return problem(
        id,
        "warn",
        `REDIS_URL is not set: the rate-limit policies (${policies.map(([n]) => n).join(", ")}) shared by ${Math.max(replicas, 2)} or more replicas are kept in Postgres, about 4 ms and a row lock per check`,
        "set REDIS_URL=rediss://:password@host:6379 on every replica serving the API (docs/ratelimit.md), or keep Postgres for limits of a few hundred checks a second",
      );
    }
    if (inputs.env.KEEL_REDIS_REQUIRED === "true") {
      return problem(
        id,
        "fail",
        "KEEL_REDIS_REQUIRED=true but REDIS_URL is not set",
        "set REDIS_URL, or unset KEEL_REDIS_REQUIRED",
      );
    }
    return pass(
      id,
      policies.length > 0 ? "no Redis: rate limits are kept in Postgres" : "no Redis, and nothing needs it",
    );
  }
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    return problem(
      id,
      "fail",
      "REDIS_URL is not a URL",
      "use redis://[:password@]host:6379[/db] (rediss:// for TLS)",
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (url.protocol === "redis:" && !isLoopback(host)) {
    return problem(
      id,
      inputs.production ? "fail" : "warn",
      `REDIS_URL reaches ${host}, not on this machine, without TLS (redis://)`,
      `use rediss://…@${host}:${url.port || 6379} (TLS); managed Redis services offer a TLS port`,
    );
  }
  return pass(
    id,
    `REDIS_URL is ${url.protocol}//${host}:${url.port || 6379}${url.protocol === "rediss:" ? " (TLS)" : ""}`,
  );
}

function variablesCheck(inputs: DoctorInputs, facts: ConfigFacts): DoctorCheck {
  const id = "config.variables";
  const uses = configVariableUses(inputs.file.raw);
  const seenFields = new Set(uses.map((u) => u.variable));
  // Targets made through the API (and synced ones not in the file) use variables too.
  for (const t of facts.targets) {
    for (const [header, variable] of targetVariables(t.target)) {
      if (seenFields.has(variable)) continue;
      uses.push({ variable, field: `${t.label}: header ${header}` });
    }
  }
  // Stored sources (made through the API too) read their secrets' variables when verifying.
  const fileSources = new Set(Object.keys((inputs.file.raw as { sources?: object } | null)?.sources ?? {}));
  for (const s of facts.secrets) {
    if (!fileSources.has(s.field.split(".")[1] ?? "")) uses.push(s);
  }
  const unset = unsetVariableUses(uses, inputs.env);
  const sources = sourceSecretProblems(
    (inputs.file.raw as { sources?: unknown } | null)?.sources,
    inputs.env,
  );
  if (unset.length === 0 && sources.length === 0) {
    const count = new Set(uses.map((u) => u.variable)).size;
    return pass(
      id,
      `every \${VAR} of targets and sources is set (${count} variable${count === 1 ? "" : "s"})`,
    );
  }
  const seen = [
    unset.length > 0 ? `not set, so these runs fail when they fire: ${describeUnset(unset)}` : "",
    ...sources,
  ].filter(Boolean);
  const names = [...new Set(unset.map((u) => u.variable))];
  return problem(
    id,
    "fail",
    seen.join("; "),
    `set ${names.length > 0 ? names.join(", ") : "the sources' secret variables"} in the environment of every Keel process (api and worker roles) and restart them`,
  );
}

function targetVariablesCheck(inputs: DoctorInputs, facts: ConfigFacts): DoctorCheck {
  const id = "config.target_variables";
  const allow = inputs.keel?.targetVariables ?? [];
  const fileVariables = configVariableUses(inputs.file.raw).map((u) => u.variable);
  const refused: string[] = [];
  for (const t of facts.targets) {
    for (const [header, variable] of targetVariables(t.target)) {
      const origin = t.managedBy === "config" ? { config: true as const } : null;
      if (!isKeelOwnVariable(variable) && mayRead(variable, { allow, config: fileVariables }, origin))
        continue;
      refused.push(`${t.label} header ${header} uses \${${variable}}`);
    }
  }
  if (refused.length > 0) {
    return problem(
      id,
      "fail",
      `deliveries will be refused: ${refused.join("; ")}, which KEEL_TARGET_VARIABLES does not allow`,
      "add each variable to KEEL_TARGET_VARIABLES (names or PREFIX_* patterns, comma-separated) on every Keel process, or declare the schedule or source in the config file",
    );
  }
  if (allow.includes("*")) {
    return problem(
      id,
      "warn",
      "KEEL_TARGET_VARIABLES=* lets any job created through the API send any variable of Keel's environment (except Keel's own) to the URL it names",
      "list the variables targets need instead (e.g. KEEL_TARGET_VARIABLES=CRON_SECRET,HOOK_*)",
    );
  }
  return pass(
    id,
    allow.length > 0
      ? `KEEL_TARGET_VARIABLES allows ${allow.join(", ")}`
      : "KEEL_TARGET_VARIABLES is empty: only the config file's targets read variables",
  );
}

function allowlistCheck(inputs: DoctorInputs): DoctorCheck {
  const id = "config.target_allowlist";
  const text = inputs.env.KEEL_TARGET_ALLOWLIST ?? "";
  let allowlist: ReturnType<typeof parseAllowlist>;
  try {
    allowlist = parseAllowlist(text);
  } catch (err) {
    if (!isKeelError(err)) throw err;
    return problem(
      id,
      "fail",
      String(err.details.problems ?? err.message),
      "correct or remove each entry named",
    );
  }
  const metadata = METADATA_ADDRESSES.filter(([a, f]) => allowlist.permitsAddress(a, f)).map(([a]) => a);
  if (metadata.length > 0) {
    return problem(
      id,
      "fail",
      `KEEL_TARGET_ALLOWLIST lets deliveries reach the cloud metadata service (${metadata.join(", ")}), where instance credentials live`,
      "narrow the allowlisted ranges to the networks of your services (e.g. 10.20.0.0/16), never 169.254.0.0/16",
    );
  }
  const broad = allowlist.entries.filter((e) => {
    const [address = "", bits] = e.split("/");
    const family = isIP(address);
    return bits !== undefined && family !== 0 && Number(bits) < (family === 4 ? 8 : 32);
  });
  if (broad.length > 0) {
    return problem(
      id,
      "warn",
      `KEEL_TARGET_ALLOWLIST has very broad ranges (${broad.join(", ")}): deliveries may reach most private addresses`,
      "list the hosts or the narrow ranges of the services targets call",
    );
  }
  const mode = inputs.production
    ? "public addresses only"
    : "development: loopback and private addresses too";
  return pass(id, allowlist.entries.length > 0 ? `${mode}, plus ${allowlist.entries.join(", ")}` : mode);
}

function timezonesCheck(facts: ConfigFacts): DoctorCheck {
  const bad = facts.zones.filter((z) => !validZone(z.timezone));
  if (bad.length === 0) {
    const zones = [...new Set(facts.zones.map((z) => z.timezone))];
    return pass(
      "config.timezones",
      zones.length > 0 ? `time zones in use are known: ${zones.join(", ")}` : "no schedule",
    );
  }
  return problem(
    "config.timezones",
    "fail",
    `unknown to this Node.js (its ICU data): ${bad.map((z) => `schedule ${z.schedule}: ${z.timezone}`).join("; ")}`,
    "use IANA names such as Europe/London or America/New_York, or run Keel on a Node.js with full ICU data",
  );
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The host of a Postgres URL; undefined for a Unix socket. */
function postgresHost(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, "") || parsed.searchParams.get("host") || "";
    return host.startsWith("/") || host === "" ? undefined : host;
  } catch {
    return undefined;
  }
}

/** `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  return isIP(host) !== 0 && classifyAddress(host) === "loopback";
}
