import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";
import { QUEUE_NAME } from "../queue/validate.js";

/** A runtime kill switch. Switches that were never set are on. */
export interface Switch {
  name: string;
  enabled: boolean;
  reason: string | null;
  updatedBy: string;
  updatedAt: Date;
}

const SCOPED = /^(scheduling|enqueue|process):(.+)$/;

/** Throws unless `name` is `scheduling`, `scheduling:<schedule>`, `enqueue:<queue>` or `process:<queue>`. */
export function validateSwitchName(name: string): void {
  if (name === "scheduling") return;
  const m = SCOPED.exec(typeof name === "string" ? name : "");
  if (!m || !QUEUE_NAME.test(m[2] as string)) {
    throw new KeelError("invalid_switch", { name: String(name) });
  }
}

/**
 * Kill switches, stored in Postgres so they survive restarts and reach every replica: claims and
 * enqueues read them in the same statement, so a change holds at once everywhere.
 *
 * @example
 * await engine.switches.set("process:email", false, { actor: "ops@example.com", reason: "poisoned queue" });
 */
export class Switches {
  constructor(private readonly engine: Engine) {}

  async set(name: string, enabled: boolean, by: { actor: string; reason?: string | null }): Promise<Switch> {
    validateSwitchName(name);
    const [row] = await this.engine.run<SwitchRow>("set_switch", [
      name,
      enabled,
      by.actor,
      by.reason ?? null,
    ]);
    return toSwitch(row as SwitchRow);
  }

  /** Every switch that has been set (on or off). */
  async list(): Promise<Switch[]> {
    return (await this.engine.run<SwitchRow>("list_switches", [])).map(toSwitch);
  }

  /** The names among `names` that are off. */
  async disabled(names: string[]): Promise<Set<string>> {
    const rows = await this.engine.run<{ name: string }>("disabled_switches", [names]);
    return new Set(rows.map((r) => r.name));
  }

  async isEnabled(name: string): Promise<boolean> {
    return !(await this.disabled([name])).has(name);
  }
}

interface SwitchRow {
  name: string;
  enabled: boolean;
  reason: string | null;
  updated_by: string;
  updated_at: Date;
}

function toSwitch(r: SwitchRow): Switch {
  return {
    name: r.name,
    enabled: r.enabled,
    reason: r.reason,
    updatedBy: r.updated_by,
    updatedAt: r.updated_at,
  };
}
