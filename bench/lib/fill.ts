import type { Engine } from "../../packages/engine/src/index.js";

/**
 * Enqueues `n` no-op jobs (handler `noop`, payload `{ k }` with k counting up) into `queue`, in
 * batches of 1,000: how the scripts beside the scenarios fill a queue before they measure it.
 */
export async function enqueueNoops(
  engine: Pick<Engine, "enqueueMany">,
  n: number,
  queue = "bench",
): Promise<void> {
  for (let i = 0; i < n; i += 1_000)
    await engine.enqueueMany(
      Array.from({ length: Math.min(1_000, n - i) }, (_, k) => ({
        queue,
        target: { handler: "noop" },
        payload: { k: i + k },
      })),
    );
}
