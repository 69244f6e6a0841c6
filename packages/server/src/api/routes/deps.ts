import type { Engine, MutationOptions } from "@keel/engine";
import type { Call, Contract, Mount } from "../route.js";

export interface RouteDeps {
  engine: Engine;
  mount: Mount;
  /** KEEL_TARGET_VARIABLES: the `${VAR}`s a target written through the API may use (decision 026). */
  targetVariables: readonly string[];
  /**
   * The mutation options of a request: its actor, its address and its transaction, if any.
   * Every change goes through an engine mutation given these, which writes its audit row in
   * the change's transaction.
   */
  as: <C extends Contract>(call: Call<C>) => MutationOptions;
}
