/**
 * The load side of the pressure scenario, shared by every system's child process: Keel's driver
 * (bench/pressure-keel.ts, Node 20 through tsx) and the peers' (bench/peers/pressure.mjs, Node 22,
 * which loads this file with Node's own type stripping). So it imports nothing but Node's
 * built-ins and uses erasable TypeScript only (no enums, no parameter properties).
 *
 * A producer enqueues jobs {k, at} at a fixed offered rate, no-op handlers record each start, and
 * once a second the process prints one JSON line on stdout: what was enqueued and started in that
 * second, the backlog, and histograms of pickup latency (enqueue → handler start) and, where the
 * system exposes it, of claim time. The parent steers it with JSON lines on stdin.
 */
import { createInterface } from "node:readline";

/** A job's payload: its key and when the producer sent it (performance.now() of this process). */
export interface Payload {
  k: number;
  at: number;
}

/** What a system's driver provides. */
export interface LoadAdapter {
  /** Enqueues one batch; resolves once the jobs are committed. */
  enqueue(payloads: Payload[]): Promise<void>;
  /** Starts the workers; each handler calls `started(payload)` first and does nothing else. */
  startWorkers(started: (payload: Payload) => void, failed: (during: string) => void): Promise<void>;
  /** Claim durations (ms) since the last call, where the system's claims can be timed. */
  takeClaimMs?(): number[];
  /** Stops workers and producer connections. */
  stop(): Promise<void>;
}

/** Commands from the parent, one JSON object a line. */
export type LoadCommand =
  /** Offered load in jobs/s from now on; `null`: as fast as the system drains (backlog kept near `backlog`). */
  | { cmd: "rate"; rate: number | null; backlog?: number }
  /**
   * Stop offering load; wait for every committed job to start, until no job started for
   * `stallMs` or `capMs` passed; report, exit.
   */
  | { cmd: "finish"; stallMs: number; capMs: number }
  /** Like finish for the jobs committed so far, with the load still running; answers a `Check`. */
  | { cmd: "check"; stallMs: number; capMs: number };

/** The answer to `check`: the jobs committed before it, how many had not started. */
export interface Check {
  type: "check";
  /** Keys below this were checked. */
  jobs: number;
  lost: number;
  stalled: boolean;
  lostKeys: number[];
  /** Over the whole run so far. */
  duplicates: number;
  extraStarts: number;
}

/** One second of one system, as printed. Histograms: bucket index → count (see `bucketOf`). */
export interface LoadTick {
  type: "tick";
  /** Seconds since the driver started its workers. */
  t: number;
  offered: number | null;
  enqueued: number;
  enqueueErrors: number;
  started: number;
  duplicates: number;
  /** Jobs committed and not yet started. */
  backlog: number;
  workerErrors: number;
  pickup: Record<string, number>;
  claim: Record<string, number>;
}

export interface LoadResult {
  type: "result";
  /** Jobs whose enqueue was committed. */
  committed: number;
  /** Jobs whose enqueue call failed (the commit may or may not have happened). */
  uncertain: number;
  /** Committed jobs that had not started when the wait ended. */
  lost: number;
  /** True when the wait ended because no job started for `stallMs` (the system went idle with
   * jobs left); false when it reached `capMs` while still starting jobs (a backlog still
   * draining: `lost` counts jobs not run yet, not jobs lost). */
  stalled: boolean;
  lostKeys: number[];
  /** Jobs that started more than once (extra starts in `extraStarts`). */
  duplicates: number;
  extraStarts: number;
  /** Uncertain jobs that did start (their enqueue had committed after all). */
  uncertainStarted: number;
  /** Load offered but not sent before the rate changed (the producer could not keep up). */
  notSent: number;
}

/** Log buckets of 5% from 0.05 ms: fine enough for a p99, small enough to print every second. */
export function bucketOf(ms: number): number {
  return ms <= 0.05 ? 0 : Math.ceil(Math.log(ms / 0.05) / Math.log(1.05));
}

/** The upper bound (ms) of a bucket. */
export function bucketMs(bucket: number): number {
  return 0.05 * 1.05 ** bucket;
}

/** Percentile (0..100) of merged histograms, as the upper bound of its bucket; NaN when empty. */
export function histogramPercentile(histograms: readonly Record<string, number>[], p: number): number {
  const merged = new Map<number, number>();
  let total = 0;
  for (const h of histograms)
    for (const [b, n] of Object.entries(h)) {
      merged.set(Number(b), (merged.get(Number(b)) ?? 0) + n);
      total += n;
    }
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const b of [...merged.keys()].sort((x, y) => x - y)) {
    seen += merged.get(b) as number;
    if (seen >= rank) return bucketMs(b);
  }
  return Number.NaN;
}

function add(h: Record<string, number>, ms: number): void {
  const b = String(bucketOf(ms));
  h[b] = (h[b] ?? 0) + 1;
}

/** Per-key counters that grow as keys do. */
class Counts {
  a = new Uint8Array(1 << 16);
  get(k: number): number {
    return k < this.a.length ? (this.a[k] as number) : 0;
  }
  set(k: number, v: number): void {
    if (k >= this.a.length) {
      let size = this.a.length;
      while (size <= k) size *= 2;
      const b = new Uint8Array(size);
      b.set(this.a);
      this.a = b;
    }
    this.a[k] = Math.min(255, v);
  }
}

const COMMITTED = 1;
const UNCERTAIN = 2;
const TICK_MS = 20;
const MAX_BATCH = 1_000;
const MAX_IN_FLIGHT = 4;

/** Runs the load loop on `adapter` until the parent says finish; then exits the process. */
export async function runLoad(adapter: LoadAdapter): Promise<void> {
  const sent = new Counts();
  const runs = new Counts();
  let nextKey = 0;
  let committed = 0;
  let uncertain = 0;
  let distinctStarted = 0;
  let uncertainStarted = 0;
  let duplicates = 0;
  let extraStarts = 0;
  let notSent = 0;
  // This second's figures.
  let sec = { enqueued: 0, enqueueErrors: 0, started: 0, duplicates: 0, workerErrors: 0 };
  let pickup: Record<string, number> = {};
  // The producer's schedule: `rate` jobs/s since `since`, `scheduled` of them sent so far.
  let rate: number | null = 0;
  let maxBacklog = 5_000;
  let since = performance.now();
  let scheduled = 0;
  let inFlight = 0;
  let finishing = false;
  // First keys of the batches being enqueued.
  const batches = new Set<number>();
  // While a check runs: keys below checkLimit, committed, not started yet.
  let checkLimit = -1;
  let checkMissing = 0;

  const started = (p: Payload) => {
    const now = performance.now();
    const before = runs.get(p.k);
    runs.set(p.k, before + 1);
    sec.started++;
    add(pickup, now - p.at);
    if (before === 0) {
      distinctStarted++;
      if (p.k < checkLimit && sent.get(p.k) === COMMITTED) checkMissing--;
      if (sent.get(p.k) === UNCERTAIN) uncertainStarted++;
    } else {
      if (before === 1) duplicates++;
      extraStarts++;
      sec.duplicates++;
    }
  };
  const failed = () => {
    sec.workerErrors++;
  };

  const send = (n: number) => {
    const payloads: Payload[] = [];
    const at = performance.now();
    for (let i = 0; i < n; i++) payloads.push({ k: nextKey++, at });
    inFlight++;
    const first = payloads[0]?.k as number;
    batches.add(first);
    adapter
      .enqueue(payloads)
      .then(
        () => {
          for (const p of payloads) sent.set(p.k, COMMITTED);
          committed += n;
          sec.enqueued += n;
        },
        () => {
          for (const p of payloads) {
            sent.set(p.k, UNCERTAIN);
            if (runs.get(p.k) > 0) uncertainStarted++;
          }
          uncertain += n;
          sec.enqueueErrors += n;
        },
      )
      .finally(() => {
        inFlight--;
        batches.delete(first);
      });
  };

  const produce = () => {
    if (finishing) return;
    if (rate === null) {
      // As fast as the system drains: keep about `maxBacklog` jobs waiting.
      while (inFlight < MAX_IN_FLIGHT) {
        const room = maxBacklog - (committed - distinctStarted) - inFlight * MAX_BATCH;
        if (room < MAX_BATCH / 2) break;
        send(Math.min(MAX_BATCH, room));
      }
      return;
    }
    const due = Math.floor(((performance.now() - since) / 1000) * rate) - scheduled;
    if (due <= 0 || inFlight >= MAX_IN_FLIGHT) return;
    const n = Math.min(MAX_BATCH, due);
    scheduled += n;
    send(n);
  };

  const t0 = performance.now();
  await adapter.startWorkers(started, failed);
  const producer = setInterval(produce, TICK_MS);
  const ticker = setInterval(() => {
    const tick: LoadTick = {
      type: "tick",
      t: Math.round((performance.now() - t0) / 100) / 10,
      offered: rate,
      ...sec,
      backlog: committed - distinctStarted + uncertainStarted,
      pickup,
      claim: {},
    };
    for (const ms of adapter.takeClaimMs?.() ?? []) add(tick.claim, ms);
    sec = { enqueued: 0, enqueueErrors: 0, started: 0, duplicates: 0, workerErrors: 0 };
    pickup = {};
    process.stdout.write(`${JSON.stringify(tick)}\n`);
  }, 1_000);
  process.stdout.write(`${JSON.stringify({ type: "ready" })}\n`);

  /**
   * Waits until every job committed so far (keys below `nextKey` now) has started, or until none
   * of them started for `stallMs`, or `capMs` passed; the load keeps running meanwhile.
   */
  const waitStarted = async (stallMs: number, capMs: number): Promise<Omit<Check, "type">> => {
    const limit = nextKey;
    const cap = performance.now() + capMs;
    // The batches holding keys below the limit settle first (committed or failed).
    while ([...batches].some((first) => first < limit) && performance.now() < cap)
      await new Promise((r) => setTimeout(r, 50));
    let missing = 0;
    for (let k = 0; k < limit; k++) if (sent.get(k) === COMMITTED && runs.get(k) === 0) missing++;
    checkLimit = limit;
    checkMissing = missing;
    let progress = performance.now();
    let seen = checkMissing;
    let stalled = false;
    while (checkMissing > 0) {
      const now = performance.now();
      if (checkMissing !== seen) {
        seen = checkMissing;
        progress = now;
      }
      if (now - progress > stallMs) {
        stalled = true;
        break;
      }
      if (now > cap) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    checkLimit = -1;
    const lostKeys: number[] = [];
    let lost = 0;
    for (let k = 0; k < limit; k++)
      if (sent.get(k) === COMMITTED && runs.get(k) === 0) {
        lost++;
        if (lostKeys.length < 20) lostKeys.push(k);
      }
    return { jobs: limit, lost, stalled, lostKeys, duplicates, extraStarts };
  };

  const finish = async (stallMs: number, capMs: number) => {
    finishing = true;
    clearInterval(producer);
    const check = await waitStarted(stallMs, capMs);
    // A moment for duplicates of the last jobs to show.
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(ticker);
    await adapter.stop().catch((err: unknown) => process.stderr.write(`stop: ${String(err)}\n`));
    const result: LoadResult = {
      type: "result",
      committed,
      uncertain,
      lost: check.lost,
      stalled: check.stalled,
      lostKeys: check.lostKeys,
      duplicates,
      extraStarts,
      uncertainStarted,
      notSent,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  };

  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (!line.trim()) return;
    const c = JSON.parse(line) as LoadCommand;
    if (c.cmd === "rate") {
      if (rate !== null) {
        const owed = Math.floor(((performance.now() - since) / 1000) * rate) - scheduled;
        if (owed > 0) notSent += owed;
      }
      rate = c.rate;
      if (c.backlog) maxBacklog = c.backlog;
      since = performance.now();
      scheduled = 0;
    } else if (c.cmd === "finish") void finish(c.stallMs, c.capMs);
    else if (c.cmd === "check")
      void waitStarted(c.stallMs, c.capMs).then((r) => {
        const check: Check = { type: "check", ...r };
        process.stdout.write(`${JSON.stringify(check)}\n`);
      });
  });
  // The parent going away (its stdin closing) ends this process too.
  lines.on("close", () => {
    if (!finishing) process.exit(3);
  });
}

/** The driver's configuration: argv[2] as JSON. */
export interface DriverConfig {
  system: "keel" | "graphile-worker" | "pg-boss";
  /** Connection string with this system's application_name. */
  databaseUrl: string;
  applicationName: string;
  schema: string;
  queue: string;
}

export function driverConfig(): DriverConfig {
  return JSON.parse(process.argv[2] as string) as DriverConfig;
}
