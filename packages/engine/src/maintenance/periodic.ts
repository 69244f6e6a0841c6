/**
 * One primitive for background work (River's `internal/maintenance` services): a task that
 * runs every `intervalMs` with jitter, never overlapping itself, backing off briefly after a
 * failure, with an awaited `stop()` and test signals. Lease sweeping, retention and expiry,
 * and the Postgres rate-limit sweep all run through it; each module owning a table registers
 * its own task (see `maintenance/tasks.ts`).
 */

/** Timers and time, injectable so tests drive a task without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What one run of a task did: its result, or the error it failed with. */
export type RunReport<R = unknown> =
  | { task: string; ok: true; result: R; durationMs: number }
  | { task: string; ok: false; error: unknown; durationMs: number; failures: number };

export interface PeriodicOptions<R = unknown> {
  /** Names the task in reports and logs. */
  name: string;
  /** Time between the end of one run and the start of the next, before jitter. */
  intervalMs: number;
  run: () => Promise<R>;
  /** Each wait is multiplied by a factor drawn from [1 - jitter, 1 + jitter]. Default 0.1. */
  jitter?: number;
  /** Run once at start instead of after the first interval. Default false. */
  immediate?: boolean;
  /**
   * The longest wait after a failure. Waits after failures start at the smaller of the interval
   * and 250 ms and double, so work resumes within this long after the database returns even for
   * an hourly task. Default 2,000 ms.
   */
  maxBackoffMs?: number;
  clock?: Clock;
  /** Draws the jitter factor's randomness, in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Let the process exit while only this task's timer is pending. Default false. */
  unref?: boolean;
  /** Called after every run, success or failure (a test signal as much as a hook). */
  onRun?(report: RunReport<R>): void;
}

/**
 * A periodic task. Nothing runs until `start()`; `stop()` cancels the next run and waits for
 * the one in progress.
 *
 * @example
 * const sweep = new PeriodicTask({ name: "lease-sweep", intervalMs: 1_000, run: () => engine.sweepExpiredLeases() });
 * sweep.start();
 * await sweep.ran(); // in a test: the end of the next run
 * await sweep.stop();
 */
export class PeriodicTask<R = unknown> {
  readonly name: string;
  private readonly options: PeriodicOptions<R>;
  private readonly clock: Clock;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private state: "new" | "started" | "stopped" = "new";
  private failures = 0;
  private waiters: ((report: RunReport<R>) => void)[] = [];
  /** Runs finished, successful or not. */
  runs = 0;

  constructor(options: PeriodicOptions<R>) {
    if (!(options.intervalMs > 0)) throw new RangeError(`${options.name}: intervalMs must be above 0`);
    const jitter = options.jitter ?? 0.1;
    if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`${options.name}: jitter must be in [0, 1)`);
    this.name = options.name;
    this.options = options;
    this.clock = options.clock ?? systemClock;
  }

  /** Schedules the first run (at once with `immediate`). Starting twice does nothing. */
  start(): this {
    if (this.state !== "new") return this;
    this.state = "started";
    if (this.options.immediate) this.tick();
    else this.schedule(this.options.intervalMs);
    return this;
  }

  /** Cancels the next run and resolves once a run in progress has finished. */
  async stop(): Promise<void> {
    this.state = "stopped";
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Resolves with the report of the next run to finish: a test signal, no sleep needed. */
  ran(): Promise<RunReport<R>> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Consecutive failed runs; 0 after a success. */
  get failing(): number {
    return this.failures;
  }

  /** The wait before the next run, before jitter: the interval, or the backoff after failures. */
  nextDelay(): number {
    if (this.failures === 0) return this.options.intervalMs;
    const first = Math.min(this.options.intervalMs, 250);
    const cap = this.options.maxBackoffMs ?? 2_000;
    return Math.min(cap, first * 2 ** (this.failures - 1));
  }

  private schedule(baseMs: number): void {
    const jitter = this.options.jitter ?? 0.1;
    const factor = 1 - jitter + 2 * jitter * (this.options.random ?? Math.random)();
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, Math.round(baseMs * factor)));
    if (this.options.unref) (this.timer as { unref?: () => void }).unref?.();
  }

  private tick(): void {
    this.timer = undefined;
    if (this.state !== "started") return;
    this.running = this.runOnce();
  }

  private async runOnce(): Promise<void> {
    const started = this.clock.now();
    let report: RunReport<R>;
    try {
      // Inside the try: a run that throws before returning its promise is a failed run, not a crash.
      const result = await this.options.run();
      this.failures = 0;
      report = { task: this.name, ok: true, result, durationMs: this.clock.now() - started };
    } catch (error) {
      this.failures++;
      const durationMs = this.clock.now() - started;
      report = { task: this.name, ok: false, error, durationMs, failures: this.failures };
    }
    // Timed from the end of this run, so runs never overlap; scheduled before the report, so a
    // test that awaited `ran()` can move its clock on at once.
    if (this.state === "started") this.schedule(this.nextDelay());
    this.report(report);
  }

  private report(report: RunReport<R>): void {
    this.runs++;
    try {
      this.options.onRun?.(report);
    } catch {
      // A hook that throws must not end the task; it is the hook's to report.
    }
    for (const w of this.waiters.splice(0)) w(report);
  }
}
