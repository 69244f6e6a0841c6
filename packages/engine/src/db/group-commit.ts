export interface GroupCommitOptions {
  /** Most items written in one transaction. Default 500. */
  maxBatch?: number;
  /**
   * Most transactions in flight at once. Default 2: a second starts only beside one that has run
   * `aloneMs` (decisions 064 and 089).
   */
  maxInFlight?: number;
  /**
   * How long (ms) a transaction runs alone before the items waiting behind it start another
   * beside it. Default 50: a commit takes a few milliseconds, so under load the arrivals wait for
   * it and go as one larger batch, which costs Postgres and this thread less per item than two
   * smaller ones side by side (decision 089); a transaction held longer (a lock wait, a slow
   * Postgres) does not hold up the rest. 0: start one whenever fewer than `maxInFlight` are.
   */
  aloneMs?: number;
  /**
   * Whether a failed batch is split and its halves retried, so the items that did not cause
   * the error commit without it. Default: `itemError`.
   */
  retryAlone?: (err: unknown) => boolean;
}

// SQLSTATE classes one row can cause: data exception (22), integrity constraint (23), program
// limit exceeded (54: an index row over its size), and a trigger's RAISE (P0).
const ITEM_CLASSES = new Set(["22", "23", "54", "P0"]);

/**
 * True for errors one item of a batch can cause: a Keel error below 500 (a refused value) or a
 * Postgres error of the classes above. Anything else (a lost connection, a timeout, Postgres
 * unavailable) would fail every half again, slowly, so it fails the batch at once.
 */
export function itemError(err: unknown): boolean {
  const e = err as { code?: unknown; status?: unknown };
  if (err instanceof Error && typeof e.status === "number" && typeof e.code === "string")
    return e.status < 500;
  return typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) && ITEM_CLASSES.has(e.code.slice(0, 2));
}

interface Pending<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: concurrent `submit` calls are written together, one transaction per batch, and
 * each caller is resolved only after its batch committed. No batch waits on a timer to fill: a
 * lone call is flushed on the next turn of the event loop; under load, whatever arrives while a
 * transaction is committing forms the next batch, so the commit rate the database allows
 * carries many items each (decision 015). A second transaction starts beside the first only
 * when the first has run `aloneMs` (decision 089).
 *
 * `flush` gets the items of a batch and answers one result per item, in order, or throws. When
 * a batch of several fails on an error one item can cause (`itemError`), it is split in halves
 * and each is written again, down to single items: one bad item fails alone, with its own
 * error, in about 2·log2(n) transactions, and its neighbours commit.
 *
 * @example
 * const writer = new GroupCommit((rows: Row[]) => insertAll(rows));
 * const id = await writer.submit(row); // committed when it resolves
 */
export class GroupCommit<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly aloneMs: number;
  private readonly retryAlone: (err: unknown) => boolean;
  private inFlight = 0;
  /** When each transaction in flight started (performance.now()), oldest first. */
  private readonly started: number[] = [];
  private scheduled = false;
  /** Armed while items wait behind a transaction that has not yet run `aloneMs`. */
  private alone: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  /** Transactions `flush` was asked for (a split batch counts each retry) and items submitted. */
  readonly counts = { flushes: 0, items: 0 };

  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.aloneMs = options.aloneMs ?? 50;
    this.retryAlone = options.retryAlone ?? itemError;
  }

  /** Resolves with the item's result once its batch has committed. */
  submit(item: I): Promise<O> {
    this.counts.items++;
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Resolves once every item submitted so far has been answered (nothing queued or being
   * written): a shutdown awaits it before it ends the pool the batches use.
   */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0 || this.scheduled) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
  }

  /** Items waiting for a transaction (not counting those being written). */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    const wait = this.untilAnother();
    if (wait > 0) {
      // Checked again when a transaction ends, or when the youngest has run aloneMs.
      this.alone ??= setTimeout(() => {
        this.alone = undefined;
        this.schedule();
      }, Math.ceil(wait));
      return;
    }
    // The items it waited for go now.
    clearTimeout(this.alone);
    this.alone = undefined;
    this.scheduled = true;
    // One turn later: requests parsed in the same turn join this batch.
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.maxInFlight && this.queue.length > 0 && this.untilAnother() <= 0) {
        void this.run(this.queue.splice(0, this.maxBatch));
      }
      this.schedule();
    });
  }

  /** Milliseconds until another transaction may start beside those in flight (≤ 0: now). */
  private untilAnother(): number {
    const youngest = this.started.at(-1);
    return youngest === undefined ? 0 : youngest + this.aloneMs - performance.now();
  }

  private async run(batch: Pending<I, O>[]): Promise<void> {
    this.inFlight++;
    const started = performance.now();
    this.started.push(started);
    try {
      await this.write(batch);
    } finally {
      this.inFlight--;
      this.started.splice(this.started.indexOf(started), 1);
      this.schedule();
      for (const wake of this.idle.splice(0)) wake();
    }
  }

  private async write(batch: Pending<I, O>[]): Promise<void> {
    let results: O[];
    this.counts.flushes++;
    try {
      results = await this.flush(batch.map((p) => p.item));
    } catch (err) {
      if (batch.length === 1 || !this.retryAlone(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      // Halves, one after the other (this slot stays one transaction at a time): the half
      // without the bad item commits; the other is split again until the item stands alone.
      const half = Math.ceil(batch.length / 2);
      await this.write(batch.slice(0, half));
      await this.write(batch.slice(half));
      return;
    }
    batch.forEach((p, i) => {
      p.resolve(results[i] as O);
    });
  }
}
