import { isIP } from "node:net";
import { resolve } from "node:path";
import { KeelError } from "@keel/engine";
import { standardSecretProblem } from "@keel/protocol/webhooks";
import { z } from "zod/v3";
import { isKeelOwnVariable } from "../delivery/headers.js";
import type { QStashSigningKeys } from "../qstash/signature.js";
import { databaseUrlForDriver } from "./database-url.js";

export const ROLES = ["all", "api", "worker", "scheduler"] as const;
export type Role = (typeof ROLES)[number];

export const POOLERS = ["transaction", "none"] as const;
export type Pooler = (typeof POOLERS)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Keel's process settings, read from the environment (see docs/running.md). */
export interface KeelEnv {
  /** Unset: Keel starts an embedded Postgres in `dataDir`. */
  databaseUrl: string | undefined;
  /**
   * KEEL_DIRECT_DATABASE_URL, else DIRECT_URL, else DATABASE_URL_UNPOOLED: Postgres itself when
   * DATABASE_URL goes through a pooler, for LISTEN and migrations (decision 036).
   */
  directDatabaseUrl: string | undefined;
  /** KEEL_DATABASE_POOLER, or detected: `transaction` runs statements unnamed (decision 036). */
  pooler: Pooler;
  /** Absolute path of KEEL_DATA_DIR. */
  dataDir: string;
  schema: string;
  port: number;
  /** KEEL_HOST: the interface the HTTP server binds. */
  host: string;
  role: Role;
  logLevel: LogLevel;
  nodeEnv: string | undefined;
  production: boolean;
  /** `whsec_…` secrets that sign deliveries, newest first; unset in development (generated). */
  signingSecrets: string[] | undefined;
  /** The bootstrap admin token; unset in development (one is generated and printed once). */
  adminToken: string | undefined;
  /** Bearer token for /metrics; unset in development means open. */
  metricsToken: string | undefined;
  /** KEEL_TARGET_ALLOWLIST entries: hosts, `*.example.com` wildcards, CIDRs. */
  targetAllowlist: string[];
  /** KEEL_TARGET_VARIABLES: names or `PREFIX_*` patterns `${VAR}` in any job's target headers may read (decision 026). */
  targetVariables: string[];
  /** KEEL_CONFIG: the config file to read, if given. */
  configFile: string | undefined;
  /** KEEL_LEASE_SECONDS: how long a worker holds a job between heartbeats' extensions. */
  leaseMs: number;
  /** KEEL_DELIVERY_HOST_CONCURRENCY: most HTTP deliveries running at once per target host (0: no limit). */
  deliveryHostConcurrency: number;
  /** KEEL_DELIVERY_HOST_RATE: most HTTP deliveries started per second per target host (0: no limit). */
  deliveryHostRate: number;
  /** KEEL_TRUST_PROXY: proxies whose X-Forwarded-For gives the client address (`true`, or IPs/CIDRs). */
  trustProxy: boolean | string[];
  /** REDIS_URL: where rate limits live when set (else Postgres). Holds a password: do not log it. */
  redisUrl: string | undefined;
  /** KEEL_REDIS_REQUIRED: Redis down fails readiness (else `/health` only warns). */
  redisRequired: boolean;
  /** KEEL_RATELIMIT_TIMEOUT_MS: how long a rate-limit check waits for its store before the fail modes decide. */
  rateLimitTimeoutMs: number;
  /**
   * KEEL_QSTASH_CURRENT_SIGNING_KEY and KEEL_QSTASH_NEXT_SIGNING_KEY: turn on the QStash API
   * and sign `signing: "qstash"` deliveries (docs/qstash.md). Secrets: never logged.
   */
  qstashKeys: QStashSigningKeys | undefined;
  /** KEEL_CONSOLE and KEEL_CONSOLE_PASSWORD: whether and how /console is served. */
  console: ConsoleSettings;
}

/** Secrets under this many characters are refused in production (about 128 bits of randomness). */
export const MIN_SECRET_LENGTH = 32;

/** Values given on the command line; they win over the environment. */
export interface EnvOverrides {
  role?: string | undefined;
  port?: string | number | undefined;
}

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

// An empty variable (`PORT=` in a .env file) means "not set".
const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), schema.optional());

// Never echo the value: it usually holds a password.
const POSTGRES_URL_HINT = "is not a Postgres URL. Use postgres://user:password@host:5432/database";

const schema = z.object({
  DATABASE_URL: optional(z.string().refine(isPostgresUrl, { message: POSTGRES_URL_HINT })),
  KEEL_DIRECT_DATABASE_URL: optional(z.string().refine(isPostgresUrl, { message: POSTGRES_URL_HINT })),
  DIRECT_URL: optional(z.string().refine(isPostgresUrl, { message: POSTGRES_URL_HINT })),
  DATABASE_URL_UNPOOLED: optional(z.string().refine(isPostgresUrl, { message: POSTGRES_URL_HINT })),
  KEEL_DATABASE_POOLER: optional(
    z.enum(POOLERS, {
      message: "must be transaction (DATABASE_URL goes through PgBouncer in transaction mode) or none",
    }),
  ),
  KEEL_DATA_DIR: optional(z.string()),
  KEEL_SCHEMA: optional(
    z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, {
      message: "must be lowercase letters, digits and underscores, starting with a letter (e.g. keel)",
    }),
  ),
  PORT: optional(
    z
      .string()
      .regex(/^\d+$/, {
        message: "must be a whole number between 0 and 65535 (e.g. 7070; 0 picks a free port)",
      })
      .transform(Number)
      .refine((n) => n <= 65_535, { message: "must be between 0 and 65535" }),
  ),
  KEEL_HOST: optional(
    z.string().refine((v) => isIP(v) !== 0 || HOST_NAME.test(v), {
      message:
        "must be an address of this machine (e.g. 127.0.0.1, 0.0.0.0 for all IPv4, :: for all) or a host name",
    }),
  ),
  KEEL_ROLE: optional(z.enum(ROLES, { message: `must be one of ${ROLES.join(", ")}` })),
  KEEL_LOG_LEVEL: optional(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` })),
  NODE_ENV: optional(z.string()),
  KEEL_SIGNING_SECRET: optional(
    z
      .string()
      .transform((v) => v.split(/[\s,]+/).filter(Boolean))
      .refine((list) => list.every(isSigningSecret), {
        message:
          "must be one or more whsec_<base64> secrets (at least 16 random bytes each), space-separated, newest first",
      }),
  ),
  KEEL_ADMIN_TOKEN: optional(z.string()),
  KEEL_QSTASH_CURRENT_SIGNING_KEY: optional(z.string().trim().min(1)),
  KEEL_QSTASH_NEXT_SIGNING_KEY: optional(z.string().trim().min(1)),
  KEEL_CONSOLE: optional(z.enum(["on", "off"], { message: "must be on or off" })),
  KEEL_CONSOLE_PASSWORD: optional(z.string()),
  KEEL_METRICS_TOKEN: optional(z.string()),
  KEEL_TARGET_ALLOWLIST: optional(z.string().transform((v) => v.split(/[\s,]+/).filter(Boolean))),
  KEEL_TARGET_VARIABLES: optional(
    z
      .string()
      .transform((v) => v.split(/[\s,]+/).filter(Boolean))
      .refine((list) => list.every((p) => /^(\*|[A-Za-z_][A-Za-z0-9_]*\*?)$/.test(p)), {
        message: "must be variable names or PREFIX_* patterns, comma-separated (e.g. CRON_SECRET,HOOK_*)",
      })
      .refine((list) => !list.some(namesKeelOwn), {
        message:
          "names Keel's own configuration (DATABASE_URL, DIRECT_URL, DATABASE_URL_UNPOOLED, REDIS_URL, KEEL_*, PG*), which targets can never read: remove it",
      }),
  ),
  KEEL_CONFIG: optional(z.string()),
  KEEL_TRUST_PROXY: optional(
    z.string().transform((v) => (v.trim() === "true" ? true : v.split(/[\s,]+/).filter(Boolean))),
  ),
  REDIS_URL: optional(
    z.string().refine(isRedisUrl, {
      message: "is not a Redis URL. Use redis://[:password@]host:6379[/db] (rediss:// for TLS)",
    }),
  ),
  KEEL_REDIS_REQUIRED: optional(
    z
      .enum(["true", "false"], { message: "must be true or false (default false)" })
      .transform((v) => v === "true"),
  ),
  KEEL_LEASE_SECONDS: optional(
    z
      .string()
      .regex(/^\d+$/, { message: "must be a whole number of seconds, at least 5 (default 30)" })
      .transform(Number)
      .refine((n) => n >= 5 && n <= 3600, { message: "must be between 5 and 3600 seconds (default 30)" }),
  ),
  KEEL_DELIVERY_HOST_CONCURRENCY: optional(
    z
      .string()
      .regex(/^\d+$/, { message: "must be a whole number of deliveries, 0 for no limit (default 20)" })
      .transform(Number)
      .refine((n) => n <= 100_000, { message: "must be at most 100000 (0 for no limit; default 20)" }),
  ),
  KEEL_DELIVERY_HOST_RATE: optional(
    z
      .string()
      .regex(/^\d+$/, {
        message: "must be a whole number of deliveries a second, 0 for no limit (default 0)",
      })
      .transform(Number)
      .refine((n) => n <= 1_000_000, {
        message: "must be at most 1000000 a second (0 for no limit; default 0)",
      }),
  ),
  KEEL_RATELIMIT_TIMEOUT_MS: optional(
    z
      .string()
      .regex(/^\d+$/, { message: "must be a whole number of milliseconds (default 50)" })
      .transform(Number)
      .refine((n) => n >= 1 && n <= 10_000, {
        message: "must be between 1 and 10000 milliseconds (default 50)",
      }),
  ),
});

/** Every variable Keel reads from its environment (docs/running.md lists them). */
export const ENV_VARIABLES: readonly string[] = Object.keys(schema.shape);

// Values that must never be echoed in an error, whatever their problem.
const SECRET_VARIABLES = new Set([
  "KEEL_QSTASH_CURRENT_SIGNING_KEY",
  "KEEL_QSTASH_NEXT_SIGNING_KEY",
  "DATABASE_URL",
  "KEEL_DIRECT_DATABASE_URL",
  "DIRECT_URL",
  "DATABASE_URL_UNPOOLED",
  "KEEL_SIGNING_SECRET",
  "KEEL_ADMIN_TOKEN",
  "KEEL_METRICS_TOKEN",
  "KEEL_CONSOLE_PASSWORD",
  "REDIS_URL",
]);

/**
 * Reads and checks Keel's environment variables, reporting every problem at once.
 *
 * @example
 * const env = loadEnv(process.env, { port: "8080" });
 * env.port; // 8080
 */
export function loadEnv(source: NodeJS.ProcessEnv = process.env, overrides: EnvOverrides = {}): KeelEnv {
  const input: Record<string, string | undefined> = { ...source };
  if (overrides.role !== undefined) input.KEEL_ROLE = overrides.role;
  if (overrides.port !== undefined) input.PORT = String(overrides.port);
  const parsed = schema.safeParse(input);
  const problems = (parsed.success ? [] : parsed.error.issues).map((issue) => {
    const name = String(issue.path[0] ?? "environment");
    const flag = FLAGS[name] && overrides[FLAGS[name]] !== undefined ? ` (--${FLAGS[name]})` : "";
    const given = name in input && !SECRET_VARIABLES.has(name) ? `=${JSON.stringify(input[name])}` : "";
    return `${name}${given}${flag} ${issue.message}`;
  });
  // Checked outside zod so it is reported together with the other problems.
  if (input.NODE_ENV === "production" && !input.DATABASE_URL?.trim()) {
    problems.push(
      "DATABASE_URL is required when NODE_ENV=production: the embedded Postgres is for local development. Point it at your Postgres",
    );
  }
  if (input.NODE_ENV === "production") problems.push(...productionSecretProblems(input));
  const qstash = ["KEEL_QSTASH_CURRENT_SIGNING_KEY", "KEEL_QSTASH_NEXT_SIGNING_KEY"];
  const qstashSet = qstash.filter((name) => input[name]?.trim());
  if (qstashSet.length === 1) {
    problems.push(
      `${qstash.find((n) => !qstashSet.includes(n))} is not set while ${qstashSet[0]} is: QStash receivers verify with both keys; set both (from the QStash console, or two new random strings) or neither`,
    );
  }
  if (!parsed.success || problems.length > 0) {
    throw new KeelError("invalid_config", { problems: `- ${problems.join("\n- ")}`, list: problems });
  }
  const env = parsed.data;
  const direct = env.KEEL_DIRECT_DATABASE_URL ?? env.DIRECT_URL ?? env.DATABASE_URL_UNPOOLED;
  return {
    databaseUrl: env.DATABASE_URL === undefined ? undefined : databaseUrlForDriver(env.DATABASE_URL),
    // Without DATABASE_URL (embedded Postgres) there is no pooler and nothing to bypass.
    directDatabaseUrl:
      env.DATABASE_URL === undefined || direct === undefined ? undefined : databaseUrlForDriver(direct),
    pooler:
      env.DATABASE_URL === undefined
        ? "none"
        : (env.KEEL_DATABASE_POOLER ?? detectPooler(env.DATABASE_URL, direct)),
    dataDir: resolve(env.KEEL_DATA_DIR ?? ".keel"),
    schema: env.KEEL_SCHEMA ?? "keel",
    port: env.PORT ?? 7070,
    host: env.KEEL_HOST ?? "0.0.0.0",
    role: env.KEEL_ROLE ?? "all",
    logLevel: env.KEEL_LOG_LEVEL ?? "info",
    nodeEnv: env.NODE_ENV,
    production: env.NODE_ENV === "production",
    signingSecrets: env.KEEL_SIGNING_SECRET,
    adminToken: env.KEEL_ADMIN_TOKEN?.trim(),
    metricsToken: env.KEEL_METRICS_TOKEN?.trim(),
    targetAllowlist: env.KEEL_TARGET_ALLOWLIST ?? [],
    targetVariables: env.KEEL_TARGET_VARIABLES ?? [],
    configFile: env.KEEL_CONFIG,
    leaseMs: (env.KEEL_LEASE_SECONDS ?? 30) * 1000,
    deliveryHostConcurrency: env.KEEL_DELIVERY_HOST_CONCURRENCY ?? 20,
    deliveryHostRate: env.KEEL_DELIVERY_HOST_RATE ?? 0,
    trustProxy: env.KEEL_TRUST_PROXY ?? false,
    redisUrl: env.REDIS_URL,
    redisRequired: env.KEEL_REDIS_REQUIRED ?? false,
    rateLimitTimeoutMs: env.KEEL_RATELIMIT_TIMEOUT_MS ?? 50,
    qstashKeys:
      env.KEEL_QSTASH_CURRENT_SIGNING_KEY && env.KEEL_QSTASH_NEXT_SIGNING_KEY
        ? { current: env.KEEL_QSTASH_CURRENT_SIGNING_KEY, next: env.KEEL_QSTASH_NEXT_SIGNING_KEY }
        : undefined,
    console: consoleSettings(
      env.KEEL_CONSOLE,
      env.KEEL_CONSOLE_PASSWORD?.trim() || undefined,
      env.NODE_ENV === "production",
    ),
  };
}

/** The operator console's switches (decision 041). */
export interface ConsoleSettings {
  /** Served at /console. */
  enabled: boolean;
  /** API tokens may sign in. */
  tokens: boolean;
  /** KEEL_CONSOLE_PASSWORD: signs in as admin. */
  password: string | undefined;
}

/**
 * KEEL_CONSOLE=off turns the console off everywhere. In production it is off unless a way to
 * sign in is configured on purpose: KEEL_CONSOLE_PASSWORD, or KEEL_CONSOLE=on (token sign-in).
 * Elsewhere it is on, with token sign-in.
 */
export function consoleSettings(
  mode: "on" | "off" | undefined,
  password: string | undefined,
  production: boolean,
): ConsoleSettings {
  if (mode === "off") return { enabled: false, tokens: false, password: undefined };
  const tokens = !production || mode === "on";
  return { enabled: tokens || password !== undefined, tokens, password };
}

/** In production every secret must be set and strong; development generates what is missing. */
function productionSecretProblems(input: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const generate =
    "generate one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"";
  for (const name of ["KEEL_ADMIN_TOKEN", "KEEL_METRICS_TOKEN"]) {
    const value = input[name]?.trim();
    if (!value) problems.push(`${name} is required when NODE_ENV=production; ${generate}`);
    else if (value.length < MIN_SECRET_LENGTH) {
      problems.push(
        `${name} is too weak (${value.length} characters): use at least ${MIN_SECRET_LENGTH}; ${generate}`,
      );
    }
  }
  const consolePassword = input.KEEL_CONSOLE_PASSWORD?.trim();
  if (consolePassword && consolePassword.length < MIN_SECRET_LENGTH) {
    problems.push(
      `KEEL_CONSOLE_PASSWORD is too weak (${consolePassword.length} characters): use at least ${MIN_SECRET_LENGTH}; ${generate}`,
    );
  }
  if (!input.KEEL_SIGNING_SECRET?.trim()) {
    problems.push(
      "KEEL_SIGNING_SECRET is required when NODE_ENV=production: set a whsec_ secret, e.g. " +
        "whsec_$(node -e \"console.log(require('crypto').randomBytes(24).toString('base64'))\")",
    );
  }
  return problems;
}

/** A Standard Webhooks secret: `whsec_` and padded base64 of at least 16 bytes (the one rule). */
export function isSigningSecret(value: string): boolean {
  return standardSecretProblem(value) === null;
}

/**
 * A DATABASE_URL that goes through a pooler, when KEEL_DATABASE_POOLER does not say: a separate
 * direct URL is given (the Prisma, Neon and Supabase convention), or the host or port is a
 * known pooler's (`…-pooler.…` at Neon, `pooler.supabase.com`, 6543, PgBouncer's 6432). A wrong
 * guess costs little: unnamed statements are parsed on every run.
 */
function detectPooler(databaseUrl: string, direct: string | undefined): Pooler {
  if (direct !== undefined && direct !== databaseUrl) return "transaction";
  try {
    const url = new URL(databaseUrl);
    if (/(^|[.-])pooler\./.test(url.hostname) || url.port === "6543" || url.port === "6432")
      return "transaction";
  } catch {}
  return "none";
}

const FLAGS: Record<string, keyof EnvOverrides> = { PORT: "port", KEEL_ROLE: "role" };

/** A KEEL_TARGET_VARIABLES entry that could only ever match Keel's own variables. */
function namesKeelOwn(pattern: string): boolean {
  return pattern.endsWith("*") ? pattern.startsWith("KEEL_") : isKeelOwnVariable(pattern);
}

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    // A Unix socket is given as ?host=/path with an empty host part.
    const host = url.hostname !== "" || url.searchParams.has("host");
    return (url.protocol === "postgres:" || url.protocol === "postgresql:") && host;
  } catch {
    return false;
  }
}

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** A connection string without its password, for logs: `postgres://app@db:5432/app`. */
export function redactDatabaseUrl(value: string): string {
  try {
    const url = new URL(value);
    url.password = "";
    url.search = "";
    return url.toString();
  } catch {
    return "(unparseable)";
  }
}
