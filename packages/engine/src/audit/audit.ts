import type { Client, MutationOptions } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";
import { auditChange } from "./actions.js";

/** The `settings` key holding the audit retention in days; absent: kept forever. */
const RETENTION_SETTING = "audit_retention_days";
/**
 * Longest wait for the table lock expiry takes; past it, the run fails (the next interval's
 * tries again). While it waits, audited changes queue behind its lock request, so the wait
 * stays short.
 */
const EXPIRY_LOCK_TIMEOUT_MS = 200;

export interface AuditEntry {
  /** Who: `api:token:<id>`, `cli:<user>@<host>`, `config:<file>`, `engine:<name>`. */
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

/**
 * The append-only audit log (the table refuses updates and deletes). Engine mutations write
 * their rows in the change's transaction (`MutationOptions`); there is no after-the-fact path.
 *
 * @example
 * await engine.auditLog.write({ actor: "engine:billing", action: "queue.pause", target: "queue:email", source: "10.0.0.7" });
 */
export class AuditLog {
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

  /** Days entries are kept, or null when they are kept forever (the default). */
  async retentionDays(): Promise<number | null> {
    const [row] = await this.engine.run<{ value: string }>("setting_get", [RETENTION_SETTING]);
    return row ? Number(row.value) : null;
  }

  /**
   * Sets how many days entries are kept (null: forever), for every replica's maintenance. A
   * change is audited (`audit.configure`); setting the value already in force writes nothing.
   *
   * @example
   * await engine.auditLog.setRetention(90, { by: "config:keel.config.yaml" });
   */
  async setRetention(days: number | null, options: MutationOptions = {}): Promise<{ changed: boolean }> {
    if (days !== null && !(Number.isInteger(days) && days >= 1 && days <= 36_500)) {
      throw new KeelError("invalid_argument", {
        detail: `audit retention must be a whole number of days from 1 to 36500, or null to keep entries forever (got ${days})`,
      });
    }
    return this.engine.transaction(async (client) => {
      const [row] = await this.engine.runOn<{ previous: string | null; changed: boolean }>(
        client,
        "setting_put",
        [RETENTION_SETTING, days === null ? null : String(days)],
      );
      if (!row?.changed) return { changed: false };
      const previous = row.previous === null ? null : Number(row.previous);
      await this.engine.writeAudit(
        client,
        options,
        auditChange("audit.configure", "audit", { retentionDays: days, previous }),
      );
      return { changed: true };
    }, options);
  }

  /**
   * Deletes entries older than the retention, `batch` at a time, each batch in its own
   * transaction with an `audit.expire` entry recording it. The table refuses deletes to
   * everyone else: only inside that transaction is its trigger lifted, under a lock that keeps
   * other writers out and that is given up after 200 ms (SQLSTATE 55P03) rather than queue them
   * behind a long transaction. Does nothing while entries are kept forever.
   */
  async expire(batch = 5_000, as: MutationOptions = {}): Promise<{ deleted: number }> {
    const days = await this.retentionDays();
    if (days === null) return { deleted: 0 };
    let deleted = 0;
    for (;;) {
      const n = await this.engine.transaction(async (client) => {
        await this.engine.runOn(client, "lock_timeout", [EXPIRY_LOCK_TIMEOUT_MS]);
        await this.engine.runOn(client, "audit_rewrite_allow", []);
        const [row] = await this.engine.runOn<{ deleted: number; newest: Date | null }>(
          client,
          "audit_expire",
          [days, batch],
        );
        await this.engine.runOn(client, "audit_rewrite_refuse", []);
        const count = row?.deleted ?? 0;
        if (count > 0) {
          await this.engine.writeAudit(
            client,
            { by: "engine:maintenance", ...as, client },
            auditChange("audit.expire", "audit", {
              deleted: count,
              retentionDays: days,
              newest: row?.newest ? new Date(row.newest).toISOString() : null,
            }),
          );
        }
        return count;
      });
      deleted += n;
      if (n < batch) return { deleted };
    }
  }

  /** Newest first; pass the last id seen as `before` for the next page. */
  async list(
    options: {
      before?: string;
      limit?: number;
      actor?: string;
      action?: string;
      target?: string;
      /** Entries at or after this time. */
      from?: Date;
      /** Entries before this time. */
      to?: Date;
    } = {},
  ): Promise<AuditRecord[]> {
    const rows = await this.engine.run<AuditRecord>("list_audit", [
      options.before ?? null,
      options.limit ?? 100,
      options.actor || null,
      options.action || null,
      options.target || null,
      options.from ?? null,
      options.to ?? null,
    ]);
    return rows.map((r) => ({
      ...r,
      details: r.details ?? null,
      target: r.target ?? null,
      source: r.source ?? null,
    }));
  }
}
