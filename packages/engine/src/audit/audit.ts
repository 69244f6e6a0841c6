import type { Client } from "../db/mutation.js";
import { isConnectionError } from "../db/pool.js";
import type { Engine } from "../engine.js";

export interface AuditEntry {
  /** Who: a token name (`token:ci`), a CLI user (`cli:alice@host`), or `system`. */
  actor: string;
  /** What, as a dotted verb: `queue.pause`, `job.cancel`, `switch.set`, `token.create`. */
  action: string;
  /** What it was done to: `queue:email`, `job:123`, `switch:process:email`. */
  target?: string | null;
  /** From where: the client address, or the host a CLI ran on. */
  source?: string | null;
  details?: Record<string, unknown> | null;
}

export interface AuditRecord extends Required<AuditEntry> {
  id: string;
  at: Date;
}

/** What happened to audit entries whose first write failed (exported as metrics by the server). */
export interface AuditStats {
  /** Writes that failed, first tries and retries alike. */
  writeFailures: number;
  /** Entries waiting in this process for Postgres to take them. */
  pending: number;
  /** Entries given up on: the buffer was full, or the engine closed before Postgres came back. */
  dropped: number;
}

/** Entries kept for retry at most; past this the oldest is dropped (and counted). */
const MAX_PENDING = 10_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

/**
 * The append-only audit log (the table refuses updates and deletes).
 *
 * @example
 * await engine.auditLog.write({ actor: "token:ops", action: "queue.pause", target: "queue:email", source: "10.0.0.7" });
 */
export class AuditLog {
  readonly stats: AuditStats = { writeFailures: 0, pending: 0, dropped: 0 };
  private readonly queue: { entry: AuditEntry; at: Date }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private flushing: Promise<void> | undefined;

  constructor(private readonly engine: Engine) {}

  /**
   * Writes one entry now; rejects when Postgres does not take it. With `client`, inside that
   * client's transaction: the entry commits or rolls back with the change made there.
   */
  async write(entry: AuditEntry, at: Date | null = null, client?: Client): Promise<void> {
    const values = [
      entry.actor,
      entry.action,
      entry.target ?? null,
      entry.source ?? null,
      entry.details ? JSON.stringify(entry.details) : null,
      at,
    ];
    if (client) await this.engine.runOn(client, "audit", values);
    else await this.engine.run("audit", values);
  }

  /**
   * Writes the entry of a change that is already made and committed on its own (the engine's
   * mutations write theirs in the change's transaction instead, and need none of this).
   * When Postgres cannot be reached the
   * entry is kept in this process and retried with backoff until it is written (with the time
   * of the change), so a fault between a change and its audit entry does not lose the entry
   * while the process lives; failures and drops are counted in `stats`. Resolves true when it
   * was written at once. Other errors (a bad entry) reject as from `write`.
   */
  async record(entry: AuditEntry): Promise<boolean> {
    const at = new Date();
    try {
      await this.write(entry);
      return true;
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      this.stats.writeFailures++;
      this.keep(entry, at);
      return false;
    }
  }

  /** Tries the kept entries once more now (also called on close). */
  flush(): Promise<void> {
    this.flushing ??= this.retry().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops retrying: kept entries are tried one last time, then counted as dropped. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length > 0) await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stats.dropped += this.queue.length;
    this.queue.length = 0;
    this.stats.pending = 0;
  }

  private keep(entry: AuditEntry, at: Date): void {
    this.queue.push({ entry, at });
    if (this.queue.length > MAX_PENDING) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.stats.pending = this.queue.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.retryMs);
    this.timer.unref();
  }

  private async retry(): Promise<void> {
    while (this.queue.length > 0) {
      const next = this.queue[0] as { entry: AuditEntry; at: Date };
      try {
        await this.write(next.entry, next.at);
      } catch (err) {
        this.stats.writeFailures++;
        if (!isConnectionError(err)) {
          // Postgres refused this entry itself: retrying cannot help it.
          this.queue.shift();
          this.stats.dropped++;
          continue;
        }
        this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
        this.stats.pending = this.queue.length;
        this.schedule();
        return;
      }
      this.queue.shift();
      this.stats.pending = this.queue.length;
    }
    this.retryMs = FIRST_RETRY_MS;
  }

  /** Newest first; pass the last id seen as `before` for the next page. */
  async list(options: { before?: string; limit?: number } = {}): Promise<AuditRecord[]> {
    const rows = await this.engine.run<AuditRecord>("list_audit", [
      options.before ?? null,
      options.limit ?? 100,
    ]);
    return rows.map((r) => ({
      ...r,
      details: r.details ?? null,
      target: r.target ?? null,
      source: r.source ?? null,
    }));
  }
}
