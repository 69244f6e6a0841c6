import type { Engine, Pool } from "@keel/engine";
import type { RateLimiter } from "@keel/protocol/ratelimit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { FailureLimiter } from "../api/failure-limiter.js";
import { registerApi } from "../api/index.js";
import type { ConsoleSettings, Role } from "../config/env.js";
import { registerConsole } from "../console/index.js";
import { type DoctorService, defaultDoctor } from "../doctor/service.js";
import { PACKAGE_VERSION } from "../generated/version.js";
import { registerIntake } from "../intake/route.js";
import { lazyChildLogger } from "../log.js";
import { type KeelMetrics, registerMetricsRoute } from "../metrics/index.js";
import { registerQStash } from "../qstash/routes.js";
import type { QStashSigningKeys } from "../qstash/signature.js";
import { edgeServerOptions, registerEdgeHandlers } from "./edge-errors.js";
import { EventLoopMonitor } from "./event-loop.js";
import { type HealthCheck, type RedisHealth, registerHealthRoutes } from "./health.js";
import type { LoopHealth } from "./loop-health.js";

export interface AppOptions {
  pool: Pool;
  schema: string;
  role: Role;
  /** True once shutdown has begun (readiness then fails). Default: never. */
  draining?: () => boolean;
  /** Fastify logs here (requests other than health probes, errors). Default: silent. */
  logger?: FastifyBaseLogger;
  /** Production: health output shows no error details (addresses, hosts); the log has them. */
  production?: boolean;
  /** Serves /metrics when given. */
  metrics?: KeelMetrics;
  /** Bearer token for /metrics; required in production. */
  metricsToken?: string | undefined;
  /** Serves the /v1 API when given (roles api and all). */
  api?: {
    engine: Engine;
    adminToken: string | undefined;
    rateLimiter?: RateLimiter | undefined;
    /** KEEL_QSTASH_*_SIGNING_KEY: turn on the QStash-compatible /v2 API (docs/qstash.md). */
    qstashKeys?: QStashSigningKeys | undefined;
    /** Behind GET /v1/doctor; default: the checks over `env` and the engine. */
    doctor?: DoctorService | undefined;
    /** The operator console at /console (roles api and all); off when absent or disabled. */
    console?: ConsoleSettings | undefined;
  };
  /** Where `${VAR}` in webhook source secrets is read when a request is verified. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** KEEL_TARGET_VARIABLES: the `${VAR}`s targets written through the API may use. Default none. */
  targetVariables?: readonly string[];
  /** Further checks for `/health` (e.g. `config:variables`). */
  healthChecks?: () => Record<string, HealthCheck[]>;
  /** Trust X-Forwarded-For from these proxies (Fastify's trustProxy): client addresses for auth slow-down and audit. */
  trustProxy?: boolean | string | string[];
  /** Checked by /health (and /health/ready when required) when REDIS_URL is set. */
  redis?: RedisHealth;
  /** This process's background loops: one that keeps failing fails readiness. */
  loops?: LoopHealth;
}

/** The package version (generated from its package.json, decision 035). */
export const VERSION: string = PACKAGE_VERSION;

/**
 * Keel's HTTP application. Today: the health endpoints; the API, intake and metrics
 * routes join here. Not listening yet: call `app.listen()`, or `app.inject()` in tests.
 *
 * @example
 * const app = buildApp({ pool: engine.pool, schema: engine.schema, role: "all" });
 * const res = await app.inject({ url: "/health/ready" });
 * await app.close();
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const app = Fastify({
    // Probes arrive every few seconds; a log line per probe would drown everything else.
    logController: new LogController({
      disableRequestLogging: (req) => req.url.startsWith("/health") || req.url.startsWith("/metrics"),
    }),
    ...(options.logger
      ? { loggerInstance: options.logger, childLoggerFactory: lazyChildLogger }
      : { logger: false }),
    // A client that never finishes sending its request cannot hold a connection forever (30 s);
    // errors raised before a route runs answer in Keel's envelope.
    ...edgeServerOptions({ production: options.production ?? false, logger: options.logger }),
    trustProxy: options.trustProxy ?? false,
  });
  registerEdgeHandlers(app, { production: options.production ?? false });
  const eventLoop = new EventLoopMonitor();
  app.addHook("onClose", async () => eventLoop.stop());
  registerHealthRoutes(app, {
    pool: options.pool,
    schema: options.schema,
    eventLoop,
    draining: options.draining ?? (() => false),
    description: `keel (role ${options.role})`,
    version: VERSION,
    hideErrors: options.production ?? false,
    logError: (err, check) => options.logger?.warn({ err, check }, "health check failed"),
    extraChecks: options.healthChecks,
    redis: options.redis,
    loops: options.loops,
  });
  if (options.api) {
    // One slow-down for failed authentication: /v1, /v2 and console sign-in alike.
    const limiter = new FailureLimiter();
    const doctor = options.api.doctor ?? defaultDoctor(options.api.engine, options.env ?? process.env);
    registerApi(app, {
      limiter,
      engine: options.api.engine,
      adminToken: options.api.adminToken,
      rateLimiter: options.api.rateLimiter,
      doctor,
      metrics: options.metrics,
      production: options.production ?? false,
      logger: options.logger,
      env: options.env,
      targetVariables: options.targetVariables,
    });
    // Always mounted: without the signing keys it answers qstash_not_configured, which says what to set.
    registerQStash(app, {
      engine: options.api.engine,
      adminToken: options.api.adminToken,
      limiter,
      keys: options.api.qstashKeys,
      production: options.production ?? false,
      logger: options.logger,
      targetVariables: options.targetVariables,
    });
    const consoleSettings = options.api.console;
    if (consoleSettings?.enabled) {
      registerConsole(app, {
        engine: options.api.engine,
        adminToken: options.api.adminToken,
        password: consoleSettings.password,
        tokens: consoleSettings.tokens,
        limiter,
        doctor,
        production: options.production ?? false,
        logger: options.logger,
        env: options.env,
      });
    }
    // Public webhook intake, beside the API (roles api and all): the verifier is the auth.
    registerIntake(app, {
      engine: options.api.engine,
      metrics: options.metrics,
      logger: options.logger,
      env: options.env,
      production: options.production ?? false,
    });
  }
  if (options.metrics) {
    registerMetricsRoute(app, {
      metrics: options.metrics,
      token: options.metricsToken,
      production: options.production ?? false,
    });
  }
  return app;
}
