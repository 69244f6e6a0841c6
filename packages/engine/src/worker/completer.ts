import type { Engine, Finished } from "../engine.js";

type Done = Finished;

/**
 * Groups completions from concurrently finishing handlers into one statement per tick: at
 * high throughput one commit then finishes dozens of jobs.
 */
export class Completer {
  private pending: { job: Done; resolve: (stale: boolean) => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly maxBatch = 500,
  ) {}

  /** Resolves true when the completion was rejected for a stale lease token. */
  complete(job: Done): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, resolve, reject });
      if (this.pending.length >= this.maxBatch) void this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Writes everything pending; resolves when it is committed. */
  flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.flushing;
    // One flush at a time keeps commit order simple; the next batch waits for this one.
    this.flushing = this.flushing.then(async () => {
      try {
        const stale = await this.engine.complete(batch.map((b) => b.job));
        for (const b of batch) b.resolve(stale.has(b.job.id));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    });
    return this.flushing;
  }
}
