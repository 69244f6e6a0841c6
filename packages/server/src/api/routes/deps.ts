import type { AnyAuditChange, Engine, MutationOptions } from "@keel/engine";
import type { Call, Contract, Mount } from "../route.js";

/** What one mutation writes to the audit log (the engine's one list); actor and source come from the request. */
export type AuditWrite = AnyAuditChange;

export interface RouteDeps {
  engine: Engine;
  mount: Mount;
  /** KEEL_TARGET_VARIABLES: the `${VAR}`s a target written through the API may use (decision 026). */
  targetVariables: readonly string[];
  /**
   * Writes the audit entry of a change made by `call`'s principal that is not an engine
   * mutation (those take `as(call)` and write their own, in their transaction).
   */
  audit: <C extends Contract>(call: Call<C>, entry: AuditWrite) => Promise<void>;
  /** The mutation options of a request: its actor, its address and its transaction, if any. */
  as: <C extends Contract>(call: Call<C>) => MutationOptions;
}
