import {
  listFailures,
  listQueues,
  listSwitches,
  pauseQueue,
  purgeDead,
  resumeQueue,
  retryDead,
  setSwitch,
} from "@keel/protocol/contracts";
import { presentQueue, presentSwitch } from "../present.js";
import type { RouteDeps } from "./deps.js";

/** Queues and kill switches: the operator's levers. */
// Engine mutations given `as(call)` write their own audit rows in their transaction.
export function operationRoutes({ engine, mount, as }: RouteDeps): void {
  mount(listQueues)(async () => ({
    status: 200,
    body: { queues: (await engine.listQueues()).map(presentQueue) },
  }));

  mount(pauseQueue)(async (call) => {
    const { name } = call.params;
    await engine.pauseQueue(name, as(call));
    return { status: 200, body: { name, paused: true } };
  });

  mount(resumeQueue)(async (call) => {
    const { name } = call.params;
    await engine.resumeQueue(name, as(call));
    return { status: 200, body: { name, paused: false } };
  });

  mount(retryDead)(async (call) => {
    const { name } = call.params;
    const retried = await engine.retryDead(name, undefined, as(call), call.body ?? {});
    return { status: 200, body: { queue: name, retried } };
  });

  mount(purgeDead)(async (call) => {
    const { name } = call.params;
    const purged = await engine.purgeDead(name, undefined, as(call), call.body ?? {});
    return { status: 200, body: { queue: name, purged } };
  });

  mount(listFailures)(async (call) => ({
    status: 200,
    body: {
      failures: (await engine.failureGroups({ queue: call.query.queue })).map((g) => ({
        ...g,
        lastSeen: g.lastSeen.toISOString(),
      })),
    },
  }));

  mount(listSwitches)(async () => ({
    status: 200,
    body: { switches: (await engine.switches.list()).map(presentSwitch) },
  }));

  mount(setSwitch)(async (call) => {
    const { name } = call.params;
    const { enabled, reason } = call.body;
    const stored = await engine.switches.set(name, enabled, { ...as(call), reason: reason ?? null });
    return { status: 200, body: presentSwitch(stored) };
  });
}
