/**
 * The worker's own CPU per job, without Postgres or the driver: a worker runs no-op jobs that an
 * in-memory stand-in for the engine hands out (`claim` makes job objects, `complete` answers at
 * once, each a turn of the event loop later). What it prints is the worker's code plus the
 * stand-in's job objects (decision 073).
 * Usage: node --import tsx bench/worker-alone.ts [jobs=300000] [concurrency=200]
 */
import { createWorker, type Engine } from "../packages/engine/src/index.js";
import type { ClaimedJob, QueueLimits } from "../packages/engine/src/queue/types.js";

const jobs = Number(process.argv[2] ?? 300_000);
const concurrency = Number(process.argv[3] ?? 200);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
let next = 1;
let left = jobs;
const limits: QueueLimits = {
  limited: false,
  paused: false,
  deliveryTimeoutMs: null,
  flowRateIntervalMs: null,
  keyExpression: false,
};
const standIn = {
  channel: "unused",
  listenConnectionString: undefined,
  namedStatements: false,
  queueLimits: async () => new Map([["bench", limits]]),
  async claim({ limit }: { limit: number }): Promise<ClaimedJob[]> {
    await turn();
    const n = Math.min(limit, left);
    left -= n;
    return Array.from({ length: n }, (_, k) => ({
      id: String(next++),
      queue: "bench",
      handler: "noop",
      target: { handler: "noop" },
      payload: { k },
      priority: 0,
      attempt: 1,
      maxAttempts: 25,
      backoff: null,
      tenant: null,
      dedupeKey: null,
      leaseToken: "6c1e4b1e-0b8e-4a35-9d8e-0d9b7d6b2f1a",
      leaseUntil: new Date(),
      runAt: new Date(),
      createdAt: new Date(),
      origin: null,
      runAtUs: "1733433201123456",
    }));
  },
  async complete(): Promise<Set<string>> {
    await turn();
    return new Set();
  },
  heartbeat: async () => new Set<string>(),
  release: async () => new Set<string>(),
};

let done = 0;
let finish!: () => void;
const finished = new Promise<void>((resolve) => {
  finish = resolve;
});
const worker = createWorker({
  engine: standIn as unknown as Engine,
  queues: ["bench"],
  concurrency,
  maintenance: false,
  sweep: false,
  handlers: { noop: () => {} },
  hooks: {
    onJobEnd: () => {
      if (++done === jobs) finish();
    },
  },
});
const cpu = process.cpuUsage();
const started = performance.now();
await worker.start();
await finished;
const used = process.cpuUsage(cpu);
const seconds = (performance.now() - started) / 1000;
await worker.stop();
console.log(
  JSON.stringify({
    jobs,
    concurrency,
    jobsPerSec: Math.round(jobs / seconds),
    workerCpuUsPerJob: Math.round(((used.user + used.system) / jobs) * 100) / 100,
  }),
);
