import type { Engine } from "@keel/engine";
import { Gauge, type Registry } from "prom-client";

/** One target's backup and drill record, as `backup_metrics.sql` reads it (null: none yet). */
export interface BackupFacts {
  target: string;
  /** Unix seconds the latest successful backup finished. */
  backup_at: number | null;
  backup_size_bytes: number | null;
  /** Unix seconds the latest passing drill finished. */
  drill_at: number | null;
  drill_restore_seconds: number | null;
  drill_data_age_seconds: number | null;
  last_drill_status: "succeeded" | "failed" | null;
}

/**
 * Every target's facts: one small query over the `backups` and `backup_drills` tables.
 *
 * @example
 * new KeelMetrics({ engine, backups: () => readBackupFacts(engine) });
 */
export function readBackupFacts(engine: Pick<Engine, "run">): Promise<BackupFacts[]> {
  return engine.run<BackupFacts>("backup_metrics", []);
}

/**
 * The backup and drill gauges (docs/metrics.md, "Backups"), set from Keel's own record at each
 * scrape read (decision 048), so every replica reports the same values whoever took the backup.
 */
export class BackupGauges {
  private readonly lastSuccess: Gauge<"target">;
  private readonly lastSize: Gauge<"target">;
  private readonly drillLastSuccess: Gauge<"target">;
  private readonly drillLastFailed: Gauge<"target">;
  private readonly drillRto: Gauge<"target">;
  private readonly drillRpo: Gauge<"target">;

  constructor(registry: Registry, collect: () => Promise<void>) {
    const gauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: ["target"] as const, registers: [registry], collect });
    this.lastSuccess = gauge(
      "keel_backup_last_success_timestamp_seconds",
      "When the latest successful backup of each target finished, in Unix seconds.",
    );
    this.lastSize = gauge(
      "keel_backup_last_size_bytes",
      "Size of the latest successful backup of each target.",
    );
    this.drillLastSuccess = gauge(
      "keel_backup_drill_last_success_timestamp_seconds",
      "When the latest passing restore drill of each target finished, in Unix seconds.",
    );
    this.drillLastFailed = gauge(
      "keel_backup_drill_last_failed",
      "1 when the latest finished restore drill of each target failed, 0 when it passed.",
    );
    this.drillRto = gauge(
      "keel_backup_drill_rto_seconds",
      "Restore time measured by the latest passing drill of each target (RTO), in seconds.",
    );
    this.drillRpo = gauge(
      "keel_backup_drill_rpo_seconds",
      "Age of the data the latest passing drill of each target restored (RPO), in seconds.",
    );
  }

  set(rows: readonly BackupFacts[]): void {
    const all = [
      this.lastSuccess,
      this.lastSize,
      this.drillLastSuccess,
      this.drillLastFailed,
      this.drillRto,
      this.drillRpo,
    ];
    // Reset first so a target no longer recorded disappears instead of freezing.
    for (const g of all) g.reset();
    const put = (g: Gauge<"target">, target: string, value: number | null) => {
      if (value !== null) g.set({ target }, value);
    };
    for (const r of rows) {
      put(this.lastSuccess, r.target, r.backup_at);
      put(this.lastSize, r.target, r.backup_size_bytes);
      put(this.drillLastSuccess, r.target, r.drill_at);
      put(
        this.drillLastFailed,
        r.target,
        r.last_drill_status ? Number(r.last_drill_status === "failed") : null,
      );
      put(this.drillRto, r.target, r.drill_restore_seconds);
      put(this.drillRpo, r.target, r.drill_data_age_seconds);
    }
  }
}
