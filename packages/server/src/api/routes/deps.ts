import type { Engine } from "@keel/engine";
import type { Call, Contract, Mount } from "../route.js";

/** What one mutation writes to the audit log; actor and source come from the request. */
export interface AuditWrite {
  /** A dotted verb: `job.cancel`, `queue.pause`, `switch.set`, `token.create`. */
  action: string;
  /** What it was done to: `job:123`, `queue:email`, `switch:enqueue:email`. */
  target: string | null;
  /** Never a token, never a payload. */
  details?: Record<string, unknown>;
}

export interface RouteDeps {
  engine: Engine;
  mount: Mount;
  /** KEEL_TARGET_VARIABLES: the `${VAR}`s a target written through the API may use (decision 026). */
  targetVariables: readonly string[];
  /** Writes the audit entry of a mutation made by `call`'s principal. */
  audit: <C extends Contract>(call: Call<C>, entry: AuditWrite) => Promise<void>;
}
