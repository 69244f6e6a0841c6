import { errorText, newerSchemaNote, type Pool, schemaProblem, schemaStatus } from "@keel/engine";
import type { FastifyInstance, FastifyReply } from "fastify";
import { withTimeout } from "../timeout.js";
import type { EventLoopMonitor } from "./event-loop.js";
import type { LoopHealth } from "./loop-health.js";

/** `application/health+json` (draft-inadarei-api-health-check): pass, warn or fail. */
export type HealthStatus = "pass" | "warn" | "fail";

export interface HealthCheck {
  status: HealthStatus;
  componentId?: string;
  componentType?: string;
  observedValue?: number | string | boolean;
  observedUnit?: string;
  output?: string;
}

export interface HealthReport {
  status: HealthStatus;
  version?: string;
  description?: string;
  checks: Record<string, HealthCheck[]>;
}

/** What the health checks look at. */
export interface HealthSources {
  pool: Pool;
  schema: string;
  eventLoop: EventLoopMonitor;
  /** True once shutdown has begun: readiness fails so load balancers stop sending traffic. */
  draining: () => boolean;
  description: string;
  version: string;
  /** Hide error details (hosts, addresses) from the public output; they go to `logError`. */
  hideErrors?: boolean;
  logError?: (err: unknown, check: string) => void;
  /** Further checks `/health` shows as they are (config/variables.ts: `config:variables`). */
  extraChecks?: () => Record<string, HealthCheck[]>;
  /** Redis, when REDIS_URL is set: `required` makes an unanswered ping fail readiness, else warn. */
  redis?: RedisHealth;
  /** Keel's background loops in this process: one that keeps failing fails readiness. */
  loops?: LoopHealth;
}

/** What the Redis check needs: a ping, and whether Keel may run without Redis. */
export interface RedisHealth {
  ping(): Promise<unknown>;
  required: boolean;
}

/** Readiness gives Postgres this long to answer. */
export const POSTGRES_TIMEOUT_MS = 1_000;
/** Event-loop delay (p99) above which liveness warns. */
export const EVENT_LOOP_WARN_MS = 200;

/**
 * Liveness: the process and its event loop only, never the database, so an outage of
 * Postgres does not make an orchestrator restart every replica. Delay only warns: a busy
 * process that answers is alive.
 */
export function liveness(sources: HealthSources): HealthReport {
  const delay = sources.eventLoop.p99Ms();
  return report({
    "eventLoop:delay": [
      {
        status: delay > EVENT_LOOP_WARN_MS ? "warn" : "pass",
        componentType: "system",
        observedValue: delay,
        observedUnit: "ms",
        ...(delay > EVENT_LOOP_WARN_MS
          ? { output: `p99 event-loop delay above ${EVENT_LOOP_WARN_MS} ms` }
          : {}),
      },
    ],
  });
}

/**
 * Readiness: not draining, Postgres answers `select 1` within 1 s, this code may run on the
 * schema, and none of this process's loops (claim, scheduler, maintenance) keeps failing. A schema a newer Keel migrated additively passes here (a rolling deploy must not turn
 * old replicas unready) and is `warn` in `/health` (`newerSchema`).
 */
export async function readiness(
  sources: HealthSources,
  newerSchema: "pass" | "warn" = "pass",
): Promise<HealthReport> {
  if (sources.draining()) {
    return report({ "keel:shutdown": [{ status: "fail", output: "draining: Keel is shutting down" }] });
  }
  const started = performance.now();
  try {
    await withTimeout(sources.pool.query("select 1"), POSTGRES_TIMEOUT_MS);
  } catch (err) {
    return report({
      "postgres:responseTime": [
        {
          ...postgresCheck(started),
          status: "fail",
          output: publicError(sources, err, "postgres:responseTime"),
        },
      ],
      "postgres:schema": [
        { status: "fail", componentType: "datastore", output: "not checked: Postgres did not answer" },
      ],
    });
  }
  const responseTime = postgresCheck(started);
  const [schema, redis] = await Promise.all([
    schemaCheck(sources, newerSchema),
    sources.redis?.required ? redisCheck(sources, sources.redis) : undefined,
  ]);
  return report({
    "postgres:responseTime": [responseTime],
    "postgres:schema": [schema],
    ...(redis ? { "redis:responseTime": [redis] } : {}),
    ...sources.loops?.checks(sources.hideErrors ?? false),
  });
}

/** Redis answers PING within 1 s; a failure is `fail` when Redis is required, else `warn`. */
async function redisCheck(sources: HealthSources, redis: RedisHealth): Promise<HealthCheck> {
  const started = performance.now();
  try {
    await withTimeout(redis.ping(), POSTGRES_TIMEOUT_MS);
    return { ...postgresCheck(started), componentType: "datastore" };
  } catch (err) {
    sources.logError?.(err, "redis:responseTime");
    const what = redis.required
      ? "Redis is required (KEEL_REDIS_REQUIRED=true)"
      : "rate limits use their fail modes until it answers";
    return {
      status: redis.required ? "fail" : "warn",
      componentType: "datastore",
      output: `${sources.hideErrors ? "Redis did not answer in time or refused the connection" : errorText(err)}; ${what}`,
    };
  }
}

/** Everything: liveness and readiness checks, uptime and the connection pool. */
export async function details(sources: HealthSources): Promise<HealthReport> {
  const [ready, redis] = await Promise.all([
    readiness(sources, "warn"),
    // Readiness already has it when Redis is required.
    sources.redis && !sources.redis.required ? redisCheck(sources, sources.redis) : undefined,
  ]);
  const { pool } = sources;
  return {
    ...report({
      ...sources.extraChecks?.(),
      ...liveness(sources).checks,
      ...ready.checks,
      ...(redis ? { "redis:responseTime": [redis] } : {}),
      uptime: [
        {
          status: "pass",
          componentType: "system",
          observedValue: Math.round(process.uptime()),
          observedUnit: "s",
        },
      ],
      "postgres:connections": [
        {
          status: "pass",
          componentType: "datastore",
          observedValue: pool.totalCount,
          observedUnit: "connections",
          output: `${pool.idleCount} idle, ${pool.waitingCount} waiting for a connection`,
        },
      ],
    }),
    version: sources.version,
    description: sources.description,
  };
}

/** Serves `/health/live`, `/health/ready` and `/health`: 200 for pass and warn, 503 for fail. */
export function registerHealthRoutes(app: FastifyInstance, sources: HealthSources): void {
  app.get("/health/live", (_req, reply) => send(reply, liveness(sources)));
  app.get("/health/ready", async (_req, reply) => send(reply, await readiness(sources)));
  app.get("/health", async (_req, reply) => send(reply, await details(sources)));
}

function send(reply: FastifyReply, body: HealthReport): FastifyReply {
  return reply
    .code(body.status === "fail" ? 503 : 200)
    .header("cache-control", "no-store")
    .type("application/health+json")
    .send(body);
}

function report(checks: Record<string, HealthCheck[]>): HealthReport {
  const all = Object.values(checks).flat();
  const status = all.some((c) => c.status === "fail")
    ? "fail"
    : all.some((c) => c.status === "warn")
      ? "warn"
      : "pass";
  return { status, checks };
}

function postgresCheck(started: number): HealthCheck {
  return {
    status: "pass",
    componentType: "datastore",
    observedValue: Math.round((performance.now() - started) * 10) / 10,
    observedUnit: "ms",
  };
}

async function schemaCheck(sources: HealthSources, newerSchema: "pass" | "warn"): Promise<HealthCheck> {
  try {
    const s = await withTimeout(schemaStatus(sources.pool, sources.schema), POSTGRES_TIMEOUT_MS);
    const check: HealthCheck = { status: "pass", componentType: "datastore", observedValue: s.dbVersion };
    // Behind the code, or ahead by a breaking migration: this process must not serve.
    const problem = schemaProblem(s);
    if (problem) return { ...check, status: "fail", output: problem.message };
    // Ahead by additive migrations (a rolling deploy under way): ready, and says so.
    const note = newerSchemaNote(s);
    return note ? { ...check, status: newerSchema, output: note } : check;
  } catch (err) {
    return {
      status: "fail",
      componentType: "datastore",
      output: publicError(sources, err, "postgres:schema"),
    };
  }
}

/** The error as the health output shows it: in production without details, which go to the log. */
function publicError(sources: HealthSources, err: unknown, check: string): string {
  sources.logError?.(err, check);
  return sources.hideErrors
    ? "Postgres did not answer in time or refused the connection (details in Keel's log)"
    : errorText(err);
}
