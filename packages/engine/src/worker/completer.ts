import type { Engine, Finished } from "../engine.js";

type Done = Finished;

interface Pending {
  job: Done;
  resolve: (stale: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Groups completions from concurrently finishing handlers into one statement: one write at a
 * time, and every completion that arrives while a write commits joins the next one. At high
 * throughput one commit then finishes dozens of jobs; a lone completion is written on the
 * next turn of the event loop.
 */
export class Completer {
  private pending: Pending[] = [];
  /** The writer loop, while it runs. */
  private draining: Promise<void> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly maxBatch = 500,
  ) {}

  /** Resolves true when the completion was rejected for a stale lease token. */
  complete(job: Done): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, resolve, reject });
      this.start();
    });
  }

  /** Resolves when everything pending now is committed (or has failed). */
  async flush(): Promise<void> {
    while (this.draining || this.pending.length > 0) {
      this.start();
      await this.draining;
    }
  }

  private start(): void {
    if (this.draining) return;
    // One turn later: completions of handlers that finish in the same turn share a write.
    this.draining = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .finally(() => {
        this.draining = undefined;
        if (this.pending.length > 0) this.start();
      });
  }

  /** Writes batches until nothing is pending: each batch is what arrived during the last write. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        const stale = await this.engine.complete(batch.map((b) => b.job));
        for (const b of batch) b.resolve(stale.has(b.job.id));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
  }
}
