export interface GroupCommitOptions {
  /** Most items written in one transaction. Default 500. */
  maxBatch?: number;
  /** Transactions in flight at once; more arrivals wait and form the next batch. Default 4. */
  maxInFlight?: number;
  /**
   * Whether a failed batch is retried item by item. Default: for Postgres data and constraint
   * errors (SQLSTATE classes 22, 23), which one item can cause; not for a lost connection,
   * which would fail every item again, slowly.
   */
  retryAlone?: (err: unknown) => boolean;
}

function dataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code);
}

interface Pending<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: concurrent `submit` calls are written together, one transaction per batch, and
 * each caller is resolved only after its batch committed. Nothing waits on a timer: a lone call
 * is flushed on the next turn of the event loop; under load, whatever arrives while
 * `maxInFlight` transactions are committing forms the next batch, so the commit rate the
 * database allows carries many items each (decision 015).
 *
 * `flush` gets the items of a batch and answers one result per item, in order, or throws. When
 * a batch of several fails on a data error, each item is retried alone so one bad item cannot
 * fail the others.
 *
 * @example
 * const writer = new GroupCommit((rows: Row[]) => insertAll(rows));
 * const id = await writer.submit(row); // committed when it resolves
 */
export class GroupCommit<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly retryAlone: (err: unknown) => boolean;
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxInFlight = options.maxInFlight ?? 4;
    this.retryAlone = options.retryAlone ?? dataError;
  }

  /** Resolves with the item's result once its batch has committed. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a transaction (not counting those being written). */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // One turn later: requests parsed in the same turn join this batch.
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
        void this.run(this.queue.splice(0, this.maxBatch));
      }
    });
  }

  private async run(batch: Pending<I, O>[]): Promise<void> {
    this.inFlight++;
    try {
      await this.write(batch);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private async write(batch: Pending<I, O>[]): Promise<void> {
    let results: O[];
    try {
      results = await this.flush(batch.map((p) => p.item));
    } catch (err) {
      if (batch.length === 1 || !this.retryAlone(err)) for (const p of batch) p.reject(err);
      // Alone, each item succeeds or fails on its own account.
      else for (const p of batch) await this.write([p]);
      return;
    }
    batch.forEach((p, i) => {
      p.resolve(results[i] as O);
    });
  }
}
