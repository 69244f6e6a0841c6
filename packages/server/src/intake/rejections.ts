import type { Engine, Rejection } from "@keel/engine";

export interface RejectionLogOptions {
  /** Rejections kept per source per second in this process (a burst of this many). Default 10. */
  perSecond?: number;
  now?: () => number;
}

/**
 * Keeps refused requests for `GET /v1/sources/:name/rejections`, at most `perSecond` per source
 * per process: a flood of forged requests costs a few writes a second, not one each (the metric
 * still counts every one). Returns whether this rejection was kept (and so should be logged).
 */
export class RejectionLog {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perSecond: number;
  private readonly now: () => number;

  constructor(
    private readonly engine: Pick<Engine, "intake">,
    options: RejectionLogOptions = {},
  ) {
    this.perSecond = options.perSecond ?? 10;
    this.now = options.now ?? (() => performance.now());
  }

  /** Stores the rejection unless the source's budget is spent. Never throws. */
  async record(rejection: Rejection, onError: (err: unknown) => void): Promise<boolean> {
    const now = this.now();
    const bucket = this.buckets.get(rejection.source) ?? { tokens: this.perSecond, at: now };
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(rejection.source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    try {
      await this.engine.intake.sources.recordRejections([rejection]);
    } catch (err) {
      onError(err);
    }
    return true;
  }
}
