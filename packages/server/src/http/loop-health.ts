import { errorText } from "@keel/engine";
import type { HealthCheck } from "./health.js";

/** Failures in a row, without a success between them, after which a loop fails readiness. */
export const LOOP_FAILURES_UNREADY = 3;

/** Keel's own background loops that readiness watches. */
export type Loop = "claim" | "scheduler" | `maintenance:${string}`;

/**
 * What Keel's background loops (the delivery claim loop, the scheduler tick, maintenance) did
 * last. One that keeps failing while Postgres answers `select 1` — statements refused by a
 * pooler, a permission revoked, a schema broken by hand — makes `/health/ready` fail, so the
 * replica is taken out and someone looks, instead of passing while no job runs.
 *
 * @example
 * const loops = new LoopHealth();
 * scheduler hooks: { onTick: () => loops.pass("scheduler"), onError: (err) => loops.fail("scheduler", err) }
 */
export class LoopHealth {
  private readonly failing = new Map<Loop, { failures: number; error: string }>();

  /** The loop completed a round without error. */
  pass(loop: Loop): void {
    this.failing.delete(loop);
  }

  /** The loop's round failed; it retries by itself. */
  fail(loop: Loop, err: unknown): void {
    const failures = (this.failing.get(loop)?.failures ?? 0) + 1;
    this.failing.set(loop, { failures, error: errorText(err) });
  }

  /**
   * `keel:loops`: one `fail` entry per loop that failed LOOP_FAILURES_UNREADY times in a row,
   * or nothing while every loop works (a single failure is the loop's to retry).
   */
  checks(hideErrors: boolean): Record<string, HealthCheck[]> {
    const failing: HealthCheck[] = [];
    for (const [loop, { failures, error }] of this.failing) {
      if (failures < LOOP_FAILURES_UNREADY) continue;
      failing.push({
        componentId: loop,
        componentType: "component",
        status: "fail",
        observedValue: failures,
        observedUnit: "failures in a row",
        output: `${describe(loop)} keeps failing: ${hideErrors ? "see Keel's log" : error}`,
      });
    }
    return failing.length > 0 ? { "keel:loops": failing } : {};
  }
}

function describe(loop: Loop): string {
  if (loop === "claim") return "claiming jobs for delivery";
  if (loop === "scheduler") return "the scheduler's tick";
  return `the maintenance task ${loop.slice("maintenance:".length)}`;
}
