import {
  listQueues,
  listSwitches,
  pauseQueue,
  purgeDead,
  resumeQueue,
  retryDead,
  setSwitch,
} from "../contracts/index.js";
import { presentQueue, presentSwitch } from "../present.js";
import type { RouteDeps } from "./deps.js";

/** Queues and kill switches: the operator's levers. */
export function operationRoutes({ engine, mount, audit }: RouteDeps): void {
  mount(listQueues)(async () => ({
    status: 200,
    body: { queues: (await engine.listQueues()).map(presentQueue) },
  }));

  mount(pauseQueue)(async (call) => {
    const { name } = call.params;
    await engine.pauseQueue(name);
    await audit(call, { action: "queue.pause", target: `queue:${name}` });
    return { status: 200, body: { name, paused: true } };
  });

  mount(resumeQueue)(async (call) => {
    const { name } = call.params;
    await engine.resumeQueue(name);
    await audit(call, { action: "queue.resume", target: `queue:${name}` });
    return { status: 200, body: { name, paused: false } };
  });

  mount(retryDead)(async (call) => {
    const { name } = call.params;
    const retried = await engine.retryDead(name);
    await audit(call, { action: "queue.retry_dead", target: `queue:${name}`, details: { retried } });
    return { status: 200, body: { queue: name, retried } };
  });

  mount(purgeDead)(async (call) => {
    const { name } = call.params;
    const purged = await engine.purgeDead(name);
    await audit(call, { action: "queue.purge_dead", target: `queue:${name}`, details: { purged } });
    return { status: 200, body: { queue: name, purged } };
  });

  mount(listSwitches)(async () => ({
    status: 200,
    body: { switches: (await engine.switches.list()).map(presentSwitch) },
  }));

  mount(setSwitch)(async (call) => {
    const { name } = call.params;
    const { enabled, reason } = call.body;
    const actor = call.principal?.actor ?? "api";
    const stored = await engine.switches.set(name, enabled, { actor, reason: reason ?? null });
    await audit(call, {
      action: "switch.set",
      target: `switch:${name}`,
      details: { enabled, reason: reason ?? null },
    });
    return { status: 200, body: presentSwitch(stored) };
  });
}
