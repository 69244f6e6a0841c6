import type { Engine, Finished } from "../engine.js";

type Done = Finished;

interface Pending {
  job: Done;
  resolve: (stale: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Groups completions from concurrently finishing handlers into few statements. A write starts
 * when completions are pending and none is in flight; while writes commit, what arrives joins
 * the next one, and a further write starts alongside only once `minBatch` are waiting (up to
 * `maxInFlight` at a time). At high throughput one commit finishes hundreds of jobs and the
 * commits overlap instead of queueing behind one another (Postgres groups their WAL flushes);
 * a lone completion is written on the next turn of the event loop.
 */
export class Completer {
  private pending: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly maxBatch = 500,
    private readonly maxInFlight = 3,
    private readonly minBatch = 50,
  ) {}

  /** Resolves true when the completion was rejected for a stale lease token. */
  complete(job: Done): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when everything pending now is committed (or has failed). */
  async flush(): Promise<void> {
    while (this.inFlight > 0 || this.pending.length > 0 || this.scheduled) {
      this.schedule();
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // One turn later: completions of handlers that finish in the same turn share a write.
    setImmediate(() => {
      this.scheduled = false;
      this.startWrites();
    });
  }

  private startWrites(): void {
    while (
      this.pending.length > 0 &&
      (this.inFlight === 0 || (this.inFlight < this.maxInFlight && this.pending.length >= this.minBatch))
    )
      void this.write(this.pending.splice(0, this.maxBatch));
    if (this.inFlight === 0 && this.pending.length === 0) for (const w of this.idle.splice(0)) w();
  }

  private async write(batch: Pending[]): Promise<void> {
    this.inFlight++;
    try {
      const stale = await this.engine.complete(batch.map((b) => b.job));
      for (const b of batch) b.resolve(stale.has(b.job.id));
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.inFlight--;
      this.startWrites();
    }
  }
}
