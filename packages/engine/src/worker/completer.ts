import type { Engine, Finished } from "../engine.js";

/** What a `Completer` writes for each job added, and where it reports the write: once per job. */
export interface CompletionSink<T> {
  /** The completion of `tag`'s job, read when its batch is written. */
  finished(tag: T): Finished;
  /** The write committed; `stale` when the job's lease token no longer matched (nothing written). */
  done(tag: T, stale: boolean): void;
  /** The write failed: nothing was committed for the job. */
  failed(tag: T, err: unknown): void;
}

/**
 * Groups completions from concurrently finishing handlers into few statements. A write starts
 * when completions are pending and none is in flight; while writes commit, what arrives joins
 * the next one, and a further write starts alongside only once `minBatch` are waiting (up to
 * `maxInFlight` at a time). At high throughput one commit finishes hundreds of jobs and the
 * commits overlap instead of queueing behind one another (Postgres groups their WAL flushes);
 * a lone completion is written on the next turn of the event loop. Each job's result goes to the
 * sink, a batch at a time: no promise per job (decision 082).
 */
export class Completer<T> {
  private pending: T[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly sink: CompletionSink<T>,
    private readonly maxBatch = 500,
    private readonly maxInFlight = 3,
    private readonly minBatch = 50,
  ) {}

  /** Writes the completion of `tag`'s job with the next batch; the sink hears of it. */
  add(tag: T): void {
    this.pending.push(tag);
    this.schedule();
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

  private async write(batch: T[]): Promise<void> {
    this.inFlight++;
    const jobs = batch.map((tag) => this.sink.finished(tag));
    let stale: Set<string> | undefined;
    let error: unknown;
    try {
      stale = await this.engine.complete(jobs);
    } catch (err) {
      error = err;
    }
    this.inFlight--;
    for (let i = 0; i < batch.length; i++) {
      const tag = batch[i] as T;
      if (stale) this.sink.done(tag, stale.has((jobs[i] as Finished).id));
      else this.sink.failed(tag, error);
    }
    this.startWrites();
  }
}
