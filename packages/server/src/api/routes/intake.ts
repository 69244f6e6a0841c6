import { KeelError } from "@keel/engine";
import {
  deleteSource,
  getEvent,
  getSource,
  listEvents,
  listRejections,
  listSources,
  putSource,
  replayEvent,
  replayEvents,
} from "@keel/protocol/contracts";
import { checkTargetVariables } from "../../delivery/headers.js";
import { resolveSecrets, SecretProblem } from "../../intake/secrets.js";
import { presentEvent, presentEventSummary, presentRejection, presentSource } from "../present-intake.js";
import type { RouteDeps } from "./deps.js";

/**
 * Webhook events (list, inspect, replay) and sources (list, create or replace, remove, recent
 * rejections). `env` is where `${VAR}` in secrets is read: a PUT whose reference is unset is
 * refused here rather than failing every request later.
 */
export function intakeRoutes(
  { engine, mount, as, targetVariables }: RouteDeps,
  env: NodeJS.ProcessEnv,
): void {
  mount(listEvents)(async ({ query }) => {
    const limit = query.limit ?? 50;
    const { cursor, limit: _limit, ...filter } = query;
    const events = await engine.intake.events.list({ ...filter, before: cursor }, limit);
    const last = events.length === limit ? events.at(-1) : undefined;
    return { status: 200, body: { events: events.map(presentEventSummary), nextCursor: last?.id ?? null } };
  });

  mount(getEvent)(async ({ params }) => ({
    status: 200,
    body: presentEvent(await engine.intake.events.get(params.id)),
  }));

  mount(replayEvent)(async (call) => {
    const result = await engine.intake.events.replay(call.params.id, as(call));
    return { status: 200, body: result };
  });

  mount(replayEvents)(async (call) => {
    const { cursor, limit, ...filter } = call.body;
    const result = await engine.intake.events.replayMany(
      { ...filter, ...(cursor ? { before: cursor } : {}) },
      { ...as(call), limit: limit ?? 1000 },
    );
    return { status: 200, body: result };
  });

  mount(listSources)(async () => ({
    status: 200,
    body: { sources: (await engine.intake.sources.list()).map((s) => presentSource(s, env)) },
  }));

  mount(getSource)(async ({ params }) => ({
    status: 200,
    body: presentSource(await engine.intake.sources.get(params.name), env),
  }));

  mount(putSource)(async (call) => {
    const { name } = call.params;
    try {
      resolveSecrets(call.body, env);
    } catch (err) {
      if (err instanceof SecretProblem)
        throw new KeelError("invalid_source", { source: name, detail: err.message });
      throw err;
    }
    for (const [i, route] of (call.body.routes ?? []).entries()) {
      checkTargetVariables(route.target, targetVariables, `routes.${i}.target`);
    }
    const { source, change } = await engine.intake.sources.put(name, call.body, {
      ...as(call),
      managedBy: "api",
    });
    return { status: change === "created" ? 201 : 200, body: presentSource(source, env) };
  });

  mount(deleteSource)(async (call) => {
    const { name } = call.params;
    await engine.intake.sources.remove(name, { ...as(call), managedBy: "api" });
    return { status: 200, body: { name, removed: true as const } };
  });

  mount(listRejections)(async ({ params, query }) => {
    await engine.intake.sources.get(params.name);
    const rejections = await engine.intake.sources.rejections(params.name, query.limit ?? 100);
    return { status: 200, body: { rejections: rejections.map(presentRejection) } };
  });
}
