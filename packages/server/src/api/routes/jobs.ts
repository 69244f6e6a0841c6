import type { EnqueueInput } from "@keel/engine";
import type { z } from "zod/v4";
import { checkTargetVariables } from "../../delivery/headers.js";
import { cancelJob, createJob, createJobs, getJob, listJobs, retryJob } from "../contracts/index.js";
import { presentJob, presentSummary } from "../present.js";
import type { JobInput } from "../schemas.js";
import type { RouteDeps } from "./deps.js";

type JobBody = z.output<typeof JobInput>;

/** The API's `delay` is the engine's `delayMs`; everything else passes as is. */
function toEnqueueInput(job: JobBody): EnqueueInput {
  const { delay, ...rest } = job;
  return delay === undefined ? rest : { ...rest, delayMs: delay };
}

/** What the audit log keeps of a job: where it goes, never its payload or headers. */
function describeJob(job: JobBody): Record<string, unknown> {
  const queue = job.queue ?? "default";
  if ("handler" in job.target) return { queue, handler: job.target.handler };
  return { queue, url: new URL(job.target.url).origin };
}

export function jobRoutes({ engine, mount, audit, targetVariables }: RouteDeps): void {
  mount(createJob)(async (call) => {
    checkTargetVariables(call.body.target, targetVariables, "target");
    const result = await engine.enqueue(toEnqueueInput(call.body));
    if (result.deduplicated) return { status: 200, body: result };
    await audit(call, { action: "job.create", target: `job:${result.id}`, details: describeJob(call.body) });
    return { status: 201, body: result };
  });

  mount(createJobs)(async (call) => {
    for (const [i, job] of call.body.jobs.entries()) {
      checkTargetVariables(job.target, targetVariables, `jobs.${i}.target`);
    }
    const results = await engine.enqueueMany(call.body.jobs.map(toEnqueueInput));
    const created = results.filter((r) => !r.deduplicated).length;
    if (created > 0) {
      const queues = [...new Set(call.body.jobs.map((j) => j.queue ?? "default"))];
      await audit(call, {
        action: "job.create_batch",
        target: queues.length === 1 ? `queue:${queues[0]}` : null,
        details: { count: results.length, created, queues },
      });
    }
    return { status: 201, body: { jobs: results } };
  });

  mount(getJob)(async ({ params }) => ({ status: 200, body: presentJob(await engine.getJob(params.id)) }));

  mount(listJobs)(async ({ query }) => {
    const limit = query.limit ?? 50;
    const jobs = await engine.listJobs({
      queue: query.queue,
      state: query.state,
      before: query.cursor,
      limit,
    });
    const last = jobs.length === limit ? jobs[jobs.length - 1] : undefined;
    return { status: 200, body: { jobs: jobs.map(presentSummary), nextCursor: last?.id ?? null } };
  });

  mount(retryJob)(async (call) => {
    const { id } = call.params;
    await engine.retry(id);
    await audit(call, { action: "job.retry", target: `job:${id}` });
    return { status: 200, body: { id } };
  });

  mount(cancelJob)(async (call) => {
    const { id } = call.params;
    const { previousState } = await engine.cancel(id, call.principal?.actor ?? "api");
    await audit(call, { action: "job.cancel", target: `job:${id}`, details: { previousState } });
    return { status: 200, body: { id, state: "cancelled", previousState } };
  });
}
