import { QUEUE_NAME } from "@keel/protocol/names";
import { auditChange } from "../audit/actions.js";
import type { MutationOptions } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";

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
 * await engine.switches.set("process:email", false, { by: "cli:ops@bastion", reason: "poisoned queue" });
 */
export class Switches {
  constructor(private readonly engine: Engine) {}

  /**
   * Turns a switch on or off, with its `switch.set` audit row in the same transaction (the
   * caller's with `client`: replicas hear of it at commit). `actor` is the older name of `by`.
   */
  async set(
    name: string,
    enabled: boolean,
    options: MutationOptions & { reason?: string | null; actor?: string } = {},
  ): Promise<Switch> {
    validateSwitchName(name);
    const by = options.by ?? options.actor ?? this.engine.actor;
    const reason = options.reason ?? null;
    return this.engine.transaction(async (client) => {
      const [row] = await this.engine.runOn<SwitchRow>(client, "set_switch", [name, enabled, by, reason]);
      const change = auditChange("switch.set", `switch:${name}`, { enabled, reason });
      await this.engine.writeAudit(client, { ...options, by }, change);
      return toSwitch(row as SwitchRow);
    }, options);
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
