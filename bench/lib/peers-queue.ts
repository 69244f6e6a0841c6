/**
 * Starting and stopping the queue peers (graphile-worker, pg-boss, BullMQ) the way their own
 * documentation sets them up, each in its own schema or Redis key prefix, so the queue
 * scenarios (enqueue, process, pickup) compare like with like and leave nothing behind.
 */
import { randomBytes } from "node:crypto";
import { type Job as BullJob, Worker as BullWorker, Queue } from "bullmq";
import {
  Logger,
  makeWorkerUtils,
  type Runner,
  run as runGraphile,
  type Task,
  type WorkerUtils,
} from "graphile-worker";
import { Redis } from "ioredis";
import pg from "pg";
import PgBoss from "pg-boss";

/** graphile-worker logs every job at debug and more at info; the benchmark keeps its errors only. */
const quietLogger = new Logger(() => (level, message) => {
  if (level === "error") console.error(`   graphile-worker: ${message}`);
});

/** The two graphile-worker set-ups ANCHORS.md measured. */
export type GraphileConfig = "defaults" | "best";

export const GRAPHILE_NOTES: Record<GraphileConfig, string> = {
  defaults: "graphile-worker 0.17.3, defaults, concurrency 10",
  best: "graphile-worker 0.17.3, localQueue.size 500, completeJobBatchDelay 0, concurrency 50, pool 20",
};

/** graphile-worker's utilities (addJob/addJobs) on a migrated schema; `release()` when done. */
export async function graphileUtils(databaseUrl: string, schema: string): Promise<WorkerUtils> {
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, schema, logger: quietLogger });
  await utils.migrate();
  return utils;
}

/** A graphile-worker runner in one of its two configurations; `stop()` when done. */
export function startGraphile(
  databaseUrl: string,
  schema: string,
  config: GraphileConfig,
  tasks: Record<string, Task>,
): Promise<Runner> {
  const common = {
    connectionString: databaseUrl,
    schema,
    logger: quietLogger,
    noHandleSignals: true,
    taskList: tasks,
    crontab: "",
  };
  if (config === "defaults") return runGraphile({ ...common, concurrency: 10 });
  return runGraphile({
    ...common,
    concurrency: 50,
    maxPoolSize: 20,
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0 } },
  });
}

/**
 * Stops a runner and waits until its pool is really gone: `stop()` resolves earlier, and a
 * runner started in that gap is shut down with it.
 */
export async function stopGraphile(runner: Runner): Promise<void> {
  await runner.stop();
  await runner.promise;
}

/** Rows left in graphile-worker's job table (it deletes jobs on success). */
export async function graphileJobsLeft(databaseUrl: string, schema: string): Promise<number> {
  return countRows(databaseUrl, `select count(*)::int as n from "${schema}"._private_jobs`);
}

/** A started pg-boss without its background supervisor/scheduler, with `queue` created. */
export async function startPgBoss(databaseUrl: string, schema: string, queue: string): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: databaseUrl,
    schema,
    max: 10,
    supervise: false,
    schedule: false,
  });
  boss.on("error", () => {});
  await boss.start();
  await boss.createQueue(queue);
  return boss;
}

/** Stops pg-boss now (the scenarios wait for their own jobs first). */
export async function stopPgBoss(boss: PgBoss): Promise<void> {
  await boss.stop({ graceful: false, wait: true, close: true });
}

/** pg-boss jobs of `queue` in the given state (its job table keeps completed jobs). */
export async function pgBossCount(databaseUrl: string, schema: string, queue: string, state: string) {
  return countRows(
    databaseUrl,
    `select count(*)::int as n from "${schema}".job where name = '${queue}' and state = '${state}'`,
  );
}

/** ioredis options for BullMQ from a redis:// URL (BullMQ wants options, not a URL). */
export function bullConnection(redisUrl: string) {
  const u = new URL(redisUrl);
  return {
    host: u.hostname || "127.0.0.1",
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    maxRetriesPerRequest: null,
  };
}

/** A key prefix unique to this run, so the other scenarios' Redis keys are never touched. */
export function bullPrefix(): string {
  return `keelbench-${randomBytes(3).toString("hex")}`;
}

export function bullQueue(redisUrl: string, prefix: string, name: string): Queue {
  return new Queue(name, { connection: bullConnection(redisUrl), prefix });
}

export function bullWorker(
  redisUrl: string,
  prefix: string,
  name: string,
  concurrency: number,
  handler: (job: BullJob) => Promise<unknown>,
): BullWorker {
  return new BullWorker(name, handler, { connection: bullConnection(redisUrl), prefix, concurrency });
}

/** Deletes every key under `prefix`. */
export async function dropBullPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

async function countRows(databaseUrl: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(sql);
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}
