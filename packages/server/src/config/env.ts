import { resolve } from "node:path";
import { KeelError } from "@keel/engine";
import { z } from "zod";

export const ROLES = ["all", "api", "worker", "scheduler"] as const;
export type Role = (typeof ROLES)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Keel's process settings, read from the environment (see docs/running.md). */
export interface KeelEnv {
  /** Unset: Keel starts an embedded Postgres in `dataDir`. */
  databaseUrl: string | undefined;
  /** Absolute path of KEEL_DATA_DIR. */
  dataDir: string;
  schema: string;
  port: number;
  role: Role;
  logLevel: LogLevel;
  nodeEnv: string | undefined;
  production: boolean;
}

/** Values given on the command line; they win over the environment. */
export interface EnvOverrides {
  role?: string | undefined;
  port?: string | number | undefined;
}

// An empty variable (`PORT=` in a .env file) means "not set".
const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), schema.optional());

const schema = z.object({
  DATABASE_URL: optional(
    z.string().refine(isPostgresUrl, {
      // Never echo the value: it usually holds a password.
      message: "is not a Postgres URL. Use postgres://user:password@host:5432/database",
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
  KEEL_ROLE: optional(z.enum(ROLES, { message: `must be one of ${ROLES.join(", ")}` })),
  KEEL_LOG_LEVEL: optional(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` })),
  NODE_ENV: optional(z.string()),
});

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
    const given = name in input && name !== "DATABASE_URL" ? `=${JSON.stringify(input[name])}` : "";
    return `${name}${given}${flag} ${issue.message}`;
  });
  // Checked outside zod so it is reported together with the other problems.
  if (input.NODE_ENV === "production" && !input.DATABASE_URL?.trim()) {
    problems.push(
      "DATABASE_URL is required when NODE_ENV=production: the embedded Postgres is for local development. Point it at your Postgres",
    );
  }
  if (!parsed.success || problems.length > 0) {
    throw new KeelError("invalid_config", { problems: `- ${problems.join("\n- ")}`, list: problems });
  }
  const env = parsed.data;
  return {
    databaseUrl: env.DATABASE_URL,
    dataDir: resolve(env.KEEL_DATA_DIR ?? ".keel"),
    schema: env.KEEL_SCHEMA ?? "keel",
    port: env.PORT ?? 7070,
    role: env.KEEL_ROLE ?? "all",
    logLevel: env.KEEL_LOG_LEVEL ?? "info",
    nodeEnv: env.NODE_ENV,
    production: env.NODE_ENV === "production",
  };
}

const FLAGS: Record<string, keyof EnvOverrides> = { PORT: "port", KEEL_ROLE: "role" };

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
