import { randomUUID } from "node:crypto";
import type { DeadFilter } from "@keel/engine";
import { as, type ConsoleCall } from "./page.js";

/** A bulk retry or purge of dead jobs started from the console, as its progress page shows it. */
export interface BulkRun {
  id: string;
  queue: string;
  verb: "retry-dead" | "purge-dead";
  /** Who started it (only they see its page). */
  actor: string;
  /** The dry run's count when it started. */
  expected: number;
  /** Jobs handled so far (committed with the last batch's transaction, `engine.retryDead`). */
  done: number;
  finished: boolean;
  /** What went wrong, when it failed: the change was rolled back. */
  error?: string;
}

/** How long an action waits for its bulk run before answering with the progress page instead. */
const WAIT_MS = 1500;
/** Runs remembered per process (the newest). */
const KEEP = 50;
const runs = new Map<string, BulkRun>();

/**
 * Starts `verb` on `queue`'s dead jobs matching `filter` through the engine's own call (the same
 * batches and audit row as the CLI and API), reporting progress per batch of 1,000. Resolves
 * with the run when it finishes within WAIT_MS, or while it is still going: the console then
 * shows its progress page, which refreshes until it is done. Runs live in this process only.
 */
export async function startBulk(
  call: ConsoleCall,
  queue: string,
  verb: BulkRun["verb"],
  filter: DeadFilter,
): Promise<BulkRun> {
  const expected = await call.engine.countDead(queue, filter);
  const run: BulkRun = {
    id: randomUUID(),
    queue,
    verb,
    actor: call.session.actor,
    expected,
    done: 0,
    finished: false,
  };
  runs.set(run.id, run);
  for (const old of runs.keys()) if (runs.size > KEEP) runs.delete(old);
  const progress = (n: number) => {
    run.done = n;
  };
  const work = (
    verb === "retry-dead"
      ? call.engine.retryDead(queue, progress, as(call), filter)
      : call.engine.purgeDead(queue, progress, as(call), filter)
  ).then(
    (n) => {
      run.done = n;
      run.finished = true;
    },
    (err: unknown) => {
      run.error = err instanceof Error ? err.message : String(err);
      run.finished = true;
    },
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, WAIT_MS)))]);
  clearTimeout(timer);
  return run;
}

/** The run `id` if `call`'s actor started it in this process. */
export function bulkRun(call: ConsoleCall, id: string): BulkRun | undefined {
  const run = runs.get(id);
  return run && run.actor === call.session.actor ? run : undefined;
}
