import type { Client } from "../db/mutation.js";
import type { Engine } from "../engine.js";

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

  /** Newest first; pass the last id seen as `before` for the next page. */
  async list(
    options: { before?: string; limit?: number; actor?: string; action?: string; target?: string } = {},
  ): Promise<AuditRecord[]> {
    const rows = await this.engine.run<AuditRecord>("list_audit", [
      options.before ?? null,
      options.limit ?? 100,
      options.actor || null,
      options.action || null,
      options.target || null,
    ]);
    return rows.map((r) => ({
      ...r,
      details: r.details ?? null,
      target: r.target ?? null,
      source: r.source ?? null,
    }));
  }
}
