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

/**
 * The append-only audit log (the table refuses updates and deletes).
 *
 * @example
 * await engine.auditLog.write({ actor: "token:ops", action: "queue.pause", target: "queue:email", source: "10.0.0.7" });
 */
export class AuditLog {
  constructor(private readonly engine: Engine) {}

  async write(entry: AuditEntry): Promise<void> {
    await this.engine.run("audit", [
      entry.actor,
      entry.action,
      entry.target ?? null,
      entry.source ?? null,
      entry.details ? JSON.stringify(entry.details) : null,
    ]);
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
