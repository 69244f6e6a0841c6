import type { AddressInfo } from "node:net";
import {
  asDatabaseError,
  createScheduler,
  Engine,
  KeelError,
  newerSchemaNote,
  schemaStatus,
} from "@keel/engine";
import type { Logger } from "pino";
import { startBackupWorker } from "../backups/jobs.js";
import { type Role, redactDatabaseUrl } from "../config/env.js";
import { loadStartConfig } from "../config/load.js";
import { toPolicies } from "../config/policies.js";
import { syncSources } from "../config/sources.js";
import { describeUnset, variablesHealthCheck } from "../config/variables.js";
import { deliveryStatusClass, startDeliveryWorker } from "../delivery/deliver.js";
import { createDoctorService } from "../doctor/service.js";
import { buildApp, VERSION } from "../http/app.js";
import { LoopHealth } from "../http/loop-health.js";
import { createLogger } from "../log.js";
import { KeelMetrics, readBackupFacts } from "../metrics/index.js";
import { configSync, syncAudit, syncQueues, syncSchedules } from "./config-sync.js";
import { openDatabase } from "./database.js";
import { type EngineTimerOptions, startEngineTimers } from "./engine-timers.js";
import { openRateLimiter } from "./ratelimit.js";
import { openRedisProbe } from "./redis-probe.js";
import { printGeneratedToken, resolveSecrets, type Secrets } from "./secrets.js";

export interface StartKeelOptions {
  /** The environment to read (see docs/running.md). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** `--role`: wins over KEEL_ROLE. */
  role?: string;
  /** `--port`: wins over PORT; 0 picks a free port. */
  port?: number | string;
  /** Interface the HTTP server binds: wins over KEEL_HOST (default `0.0.0.0`). */
  host?: string;
  /** Default: JSON lines on stdout at KEEL_LOG_LEVEL. */
  logger?: Logger;
  timers?: EngineTimerOptions;
  /**
   * HTTP deliveries in flight at once in this process. Default 40: one queue may hold half of
   * them, a second half of the rest, and so on (decision 028), so one queue still gets 20.
   */
  deliveryConcurrency?: number;
  /** How long stopping waits for in-flight deliveries before releasing them. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Where `keel.config.*` is looked for. Default: the working directory. */
  cwd?: string;
  /** How often the doctor's checks refresh `keel_doctor_check` in the API roles; 0: only on request. Default 15 min. */
  doctorIntervalMs?: number;
  /** Shows a generated development admin token once. Default: plain text on stderr. */
  showGeneratedToken?: (token: string, port: number | undefined) => void;
}

export interface RunningKeel {
  role: Role;
  /** The HTTP port, or undefined for a role that serves no HTTP. */
  port: number | undefined;
  /** Holds the password: do not log it. */
  connectionString: string;
  database: "external" | "embedded";
  engine: Engine;
  /** The secrets in use (development: generated and stored on first start). */
  secrets: Secrets;
  /** Drains and stops everything in order. Never rejects: failures are logged. Safe to call twice. */
  stop(): Promise<void>;
}

/** The background doctor run, for the metrics: rare, since each run probes every target once. */
const DOCTOR_INTERVAL_MS = 15 * 60_000;

/** Delivery slots per process, and the share of the free ones one queue may take (decision 028). */
const DELIVERY_CONCURRENCY = 40;
const DELIVERY_QUEUE_SHARE = 0.5;

// Every role serves /health/* so orchestrators can probe any replica.
const HTTP_ROLES: Role[] = ["all", "api", "worker", "scheduler"];
const TIMER_ROLES: Role[] = ["all", "worker"];
const API_ROLES: Role[] = ["all", "api"];
const SCHEDULER_ROLES: Role[] = ["all", "scheduler"];

/**
 * Runs a Keel process in this one: Postgres (embedded when DATABASE_URL is unset), the
 * migrated engine, the engine's timers and the HTTP endpoints, as the role asks.
 *
 * @example
 * const keel = await startKeel({ env: { ...process.env, PORT: "0" } });
 * await fetch(`http://127.0.0.1:${keel.port}/health/ready`);
 * await keel.stop();
 */
export async function startKeel(options: StartKeelOptions = {}): Promise<RunningKeel> {
  // The environment, the config file and the variables it uses: every problem in one report.
  const start = await loadStartConfig(options.env ?? process.env, options, options.cwd);
  const config = start.env;
  const logger = options.logger ?? createLogger(config.logLevel);
  // Undo steps, run last-first on stop or on a failed start.
  const undo: { name: string; run: () => Promise<unknown> }[] = [];
  const unwind = async () => {
    for (const step of undo.splice(0).reverse()) {
      await step.run().catch((err: unknown) => logger.error({ err, step: step.name }, `${step.name} failed`));
    }
  };
  let draining = false;
  try {
    // The config file was read before anything started, so its mistakes cost nothing.
    const { file } = start;
    if (start.unsetVariables.length > 0) {
      // Names only: never a value.
      logger.warn(
        { variables: [...new Set(start.unsetVariables.map((u) => u.variable))] },
        `config: target headers use variables that are not set, so their deliveries fail until they are: ${describeUnset(start.unsetVariables)}`,
      );
    }
    const database = await openDatabase(config, logger);
    undo.push({ name: "stop embedded postgres", run: database.stop });
    const engine = await Engine.connect({
      connectionString: database.connectionString,
      directConnectionString: database.directConnectionString,
      pooler: database.pooler,
      schema: config.schema,
      applicationName: `keel-${config.role}`,
      // Every role migrates under the advisory lock; a schema a newer Keel migrated additively is
      // left as it is (rolling deploys, decision 033).
      migrate: true,
      // Requests answer 503 within about a second when Postgres stops answering (frozen,
      // black-holed, failing over) instead of waiting on it.
      watch: {},
    }).catch((err: unknown) => Promise.reject(asDatabaseError(err)));
    undo.push({ name: "close engine", run: () => engine.close() });
    if (database.pooler === "transaction" && !database.directConnectionString) {
      logger.warn(
        "DATABASE_URL goes through a transaction-mode pooler and no direct URL is set: workers poll for new jobs every second instead of listening. Set KEEL_DIRECT_DATABASE_URL (or DIRECT_URL) to Postgres itself",
      );
    }
    const schemaNote = await schemaStatus(engine.pool, config.schema).then(newerSchemaNote, () => undefined);
    if (schemaNote) logger.warn({ schema: config.schema }, schemaNote);
    const asConfig = configSync(file.path);
    const queues = await syncQueues(engine, file.config, asConfig);
    const schedules = await syncSchedules(engine, file.config, asConfig);
    await syncAudit(engine, file.config, asConfig);
    // Sources are served by the API roles, which need their secrets' variables.
    const sources = API_ROLES.includes(config.role)
      ? await syncSources(engine, file.config.sources, options.env ?? process.env, asConfig)
      : undefined;
    const secrets = await resolveSecrets(engine, config);
    const metrics = new KeelMetrics({
      engine,
      switches: () => engine.switches.list(),
      // Where backups: is configured: the keel_backup_* gauges, from Keel's own record.
      backups: file.config.backups ? () => readBackupFacts(engine) : undefined,
      onScrapeError: (err, source) => logger.warn({ err, source }, "metrics: scrape-time read failed"),
    });
    const rateLimiter = API_ROLES.includes(config.role)
      ? openRateLimiter({
          policies: toPolicies(file.config.policies),
          redisUrl: config.redisUrl,
          engine,
          metrics,
          logger,
          storeTimeoutMs: config.rateLimitTimeoutMs,
        })
      : undefined;
    if (rateLimiter) undo.push({ name: "close rate limiter", run: () => rateLimiter.close() });
    // Redis serves the API roles' rate limits: the roles that use it check it.
    const redis =
      config.redisUrl && API_ROLES.includes(config.role)
        ? openRedisProbe(config.redisUrl, config.redisRequired, config.schema)
        : undefined;
    if (redis) undo.push({ name: "close redis probe", run: () => redis.close() });
    // The loops this process runs report here; readiness fails while one keeps failing.
    const loops = new LoopHealth();
    // GET /v1/doctor and keel_doctor_check, where the API runs.
    const doctor = API_ROLES.includes(config.role)
      ? createDoctorService({
          inputs: () => ({
            env: options.env ?? process.env,
            production: config.production,
            keel: config,
            envProblems: [],
            file: { ...file, problems: [] },
            engine,
            self: 1,
          }),
          onReport: (report) => metrics.recordDoctor(report),
          intervalMs: options.doctorIntervalMs ?? DOCTOR_INTERVAL_MS,
        })
      : undefined;
    if (doctor) undo.push({ name: "stop doctor", run: () => doctor.stop() });
    let port: number | undefined;
    if (HTTP_ROLES.includes(config.role)) {
      const app = buildApp({
        pool: engine.pool,
        schema: config.schema,
        role: config.role,
        draining: () => draining,
        logger: logger.child({ component: "http" }),
        production: config.production,
        metrics,
        metricsToken: config.metricsToken,
        api: API_ROLES.includes(config.role)
          ? {
              engine,
              adminToken: secrets.adminToken,
              rateLimiter,
              qstashKeys: config.qstashKeys,
              doctor,
              console: config.console,
            }
          : undefined,
        trustProxy: config.trustProxy,
        targetVariables: config.targetVariables,
        // Where deliveries run: warn on /health while a variable they need is unset.
        healthChecks: TIMER_ROLES.includes(config.role)
          ? () => variablesHealthCheck(start.variables, options.env ?? process.env)
          : undefined,
        redis,
        loops,
        env: options.env ?? process.env,
      });
      undo.push({ name: "close http", run: () => app.close() });
      const host = options.host ?? config.host;
      // Webhook bursts open many connections at once: a deeper accept queue than the default 511.
      await app.listen({ port: config.port, host, backlog: 2048 }).catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
          const problem = `KEEL_HOST=${JSON.stringify(host)} is not an address of this machine: use one of its interfaces' addresses, 0.0.0.0 (all IPv4) or :: (all)`;
          throw new KeelError("invalid_config", { problems: `- ${problem}`, list: [problem] });
        }
        if (code !== "EADDRINUSE") throw err;
        throw new KeelError("port_in_use", { port: config.port });
      });
      port = (app.server.address() as AddressInfo).port;
    }
    if (TIMER_ROLES.includes(config.role)) {
      const timers = startEngineTimers(engine, logger, {
        ...options.timers,
        onRun: (report) => {
          if (report.ok) loops.pass(`maintenance:${report.task}`);
          else loops.fail(`maintenance:${report.task}`, report.error);
          options.timers?.onRun?.(report);
        },
      });
      undo.push({ name: "stop timers", run: () => timers.stop() });
      // Stopped first on shutdown: in-flight deliveries finish up to the deadline, the rest
      // go back to their queue at once.
      const delivery = await startDeliveryWorker({
        engine,
        queues: "*",
        concurrency: options.deliveryConcurrency ?? DELIVERY_CONCURRENCY,
        // Slow or never-answering endpoints of one queue cannot take the slots of the others.
        queueShare: DELIVERY_QUEUE_SHARE,
        signingSecrets: secrets.signingSecrets,
        qstashKeys: config.qstashKeys,
        production: config.production,
        allowlist: config.targetAllowlist,
        // Any job: KEEL_TARGET_VARIABLES; jobs made from the config file also what it names (decision 026).
        variables: {
          env: options.env ?? process.env,
          allow: config.targetVariables,
          config: start.variables.map((u) => u.variable),
        },
        onResult: (result) => {
          const statusClass = deliveryStatusClass(result);
          if (statusClass) metrics.recordDelivery(statusClass);
        },
        worker: {
          // The engine timers above already sweep leases and run retention in this process.
          maintenance: false,
          sweep: false,
          leaseMs: config.leaseMs,
          // At most this many deliveries to one host at once across every process, in queues
          // that set no flow control of their own (docs/flow-control.md).
          ...(config.deliveryHostConcurrency > 0 ? { keyConcurrency: config.deliveryHostConcurrency } : {}),
          // And at most this many started a second to one host (off by default).
          ...(config.deliveryHostRate > 0
            ? { keyRate: { limit: config.deliveryHostRate, windowSeconds: 1 } }
            : {}),
          shutdownTimeoutMs: options.shutdownTimeoutMs ?? 30_000,
          hooks: {
            ...metrics.workerHooks(),
            onClaimPass: () => loops.pass("claim"),
            onError: (err, during) => {
              if (during === "claim") loops.fail("claim", err);
              logger.warn({ err, during }, "delivery worker: recovered from an error");
            },
          },
        },
      });
      undo.push({ name: "stop delivery", run: () => delivery.stop() });
      // backups.schedule and backups.drills.schedule make jobs in keel.backups; they run here,
      // with the same history, retries and switches as any job (decision 048).
      if (file.config.backups) {
        const backups = await startBackupWorker({
          engine,
          config: file.config.backups,
          env: options.env ?? process.env,
          keel: { connectionString: database.connectionString, schema: config.schema },
          worker: {
            maintenance: false,
            sweep: false,
            leaseMs: config.leaseMs,
            shutdownTimeoutMs: options.shutdownTimeoutMs ?? 30_000,
            hooks: {
              ...metrics.workerHooks(),
              onError: (err, during) =>
                logger.warn({ err, during }, "backup worker: recovered from an error"),
            },
          },
        });
        undo.push({ name: "stop backups", run: () => backups.stop() });
      }
    }
    if (SCHEDULER_ROLES.includes(config.role)) {
      const scheduler = createScheduler({
        engine,
        hooks: {
          onFire: (event) => metrics.recordScheduleFire(event),
          onTick: () => loops.pass("scheduler"),
          onError: (err) => {
            loops.fail("scheduler", err);
            logger.warn({ err }, "scheduler: recovered from an error");
          },
        },
      });
      undo.push({ name: "stop scheduler", run: () => scheduler.stop() });
    }
    logger.info(
      {
        port,
        host: options.host ?? config.host,
        role: config.role,
        database: database.kind,
        postgres: redactDatabaseUrl(database.connectionString),
        pooler: database.pooler ?? "none",
        direct: database.directConnectionString ? redactDatabaseUrl(database.directConnectionString) : null,
        schema: config.schema,
        version: VERSION,
        config: file.path ?? null,
        queues,
        schedules: Object.fromEntries(Object.entries(schedules).filter(([, names]) => names.length > 0)),
        sources,
        // Where the operator console is, or why not (decision 041).
        console:
          port === undefined || !API_ROLES.includes(config.role)
            ? null
            : config.console.enabled
              ? `/console (sign in with ${[config.console.tokens ? "an API token" : "", config.console.password ? "KEEL_CONSOLE_PASSWORD" : ""].filter(Boolean).join(" or ")})`
              : "off (KEEL_CONSOLE=off, or production without KEEL_CONSOLE_PASSWORD or KEEL_CONSOLE=on)",
      },
      "keel started",
    );
    if (secrets.generatedAdminToken) {
      (options.showGeneratedToken ?? printGeneratedToken)(secrets.generatedAdminToken, port);
    }
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        // Readiness fails from here on, before anything closes.
        draining = true;
        logger.info({ role: config.role }, "keel stopping");
        await unwind();
        logger.info("keel stopped");
      })();
      return stopping;
    };
    return {
      role: config.role,
      port,
      connectionString: database.connectionString,
      database: database.kind,
      engine,
      secrets,
      stop,
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
