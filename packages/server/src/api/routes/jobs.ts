import type { EnqueueInput, EnqueueResult } from "@keel/engine";
import type { JobInput } from "@keel/protocol/contracts";
import { cancelJob, createJob, createJobs, getJob, listJobs, retryJob } from "@keel/protocol/contracts";
import type { z } from "zod";
import { checkTargetVariables } from "../../delivery/headers.js";
import { keyedWrite } from "../idempotency.js";
import { presentJob, presentSummary } from "../present.js";
import type { RouteDeps } from "./deps.js";

type JobBody = z.output<typeof JobInput>;

/** The API's `delay` is the engine's `delayMs`; everything else passes as is. */
function toEnqueueInput(job: JobBody): EnqueueInput {
  const { delay, ...rest } = job;
  return delay === undefined ? rest : { ...rest, delayMs: delay };
}

// Every change here is an engine mutation given `as(call)`: its audit row (the engine's one
// shape for the action) commits with it, and with the Idempotency-Key record when there is one
// (in the runner's transaction, or for a single job in its group commit: `keyedWrite`).
export function jobRoutes({ engine, mount, as, targetVariables }: RouteDeps): void {
  const created = (result: EnqueueResult) =>
    ({ status: result.deduplicated ? 200 : 201, body: result }) as const;
  // A keyed request's response commits with its job, in the group commit of single enqueues.
  mount(createJob, { keyedWrite: true })(async (call) => {
    checkTargetVariables(call.body.target, targetVariables, "target");
    // Not `{ ...as(call), idempotency }`: on Node 20 that literal costs about 1 µs (decision 071).
    const { by, source, client } = as(call);
    const idempotency = keyedWrite(call.held, created);
    return created(await engine.enqueue(toEnqueueInput(call.body), { by, source, client, idempotency }));
  });

  mount(createJobs)(async (call) => {
    for (const [i, job] of call.body.jobs.entries()) {
      checkTargetVariables(job.target, targetVariables, `jobs.${i}.target`);
    }
    const results = await engine.enqueueMany(call.body.jobs.map(toEnqueueInput), as(call));
    return { status: 201, body: { jobs: results } };
  });

  mount(getJob)(async ({ params }) => ({ status: 200, body: presentJob(await engine.getJob(params.id)) }));

  mount(listJobs)(async ({ query }) => {
    const limit = query.limit ?? 50;
    const { cursor, limit: _limit, ...filter } = query;
    const { jobs, nextCursor } = await engine.listJobsPage({ ...filter, before: cursor, limit });
    return { status: 200, body: { jobs: jobs.map(presentSummary), nextCursor } };
  });

  mount(retryJob)(async (call) => {
    const { id } = call.params;
    await engine.retry(id, as(call));
    return { status: 200, body: { id } };
  });

  mount(cancelJob)(async (call) => {
    const { id } = call.params;
    const { previousState } = await engine.cancel(id, as(call));
    return { status: 200, body: { id, state: "cancelled", previousState } };
  });
}
