import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";

/**
 * Samples event-loop delay in windows of `windowMs`, so a health check reports recent
 * behaviour rather than an average since start. Stop it with `stop()`.
 */
export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private lastWindowP99Ms = 0;

  constructor(windowMs = 10_000) {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.lastWindowP99Ms = this.currentP99Ms();
      this.histogram.reset();
    }, windowMs);
    // A health sampler must never keep the process alive.
    this.timer.unref();
  }

  /** The 99th percentile delay in ms over the last full window or the current one, whichever is worse. */
  p99Ms(): number {
    return Math.round(Math.max(this.lastWindowP99Ms, this.currentP99Ms()) * 10) / 10;
  }

  private currentP99Ms(): number {
    // The histogram is in nanoseconds and includes the sampling resolution itself.
    return this.histogram.count === 0 ? 0 : Math.max(0, this.histogram.percentile(99) / 1e6 - 10);
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
