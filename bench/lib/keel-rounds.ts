/**
 * Keel's part of the processing scenario (`bench/peers/process.mjs`) for one build of the engine
 * on the project's Node: what the scripts that run cold or warm rounds of builds side by side
 * (`process-pairs.ts`, `round-waits.ts`) start for each fill and each round.
 */
import { type PeerChild, runScript } from "./peers-latest.js";

export interface KeelRound {
  /** The built engine's dist/index.js, an absolute path (the child runs in bench/peers). */
  build: string;
  databaseUrl: string;
  schema: string;
  concurrency: number;
  jobs: number;
  /** Jobs filled and run in the round's own process before it measures (0: a cold round). */
  warm: number;
}

/** Starts `process.mjs` in `mode` (`fill` or `process`) for the round; its result is one JSON line. */
export function runKeelRound(
  round: KeelRound,
  mode: "fill" | "process",
  log: (m: string) => void,
): PeerChild {
  const args = {
    system: "keel",
    config: { concurrency: round.concurrency },
    databaseUrl: round.databaseUrl,
    schema: round.schema,
    queue: "bench",
    from: 0,
    n: round.jobs,
    warm: round.warm,
    modules: round.build,
    mode,
  };
  return runScript(process.execPath, "process.mjs", [JSON.stringify(args)], log);
}
