import type { AcceptInput, Engine, Source } from "../src/index.js";

/**
 * Everything the operator mutations touch (schedules, their runs, switches, tenants, tokens,
 * sources, events, jobs), plus `extra` named queries, as rows: compare before and after a
 * change that must leave no trace. `{{schema}}` in an extra query is the engine's schema.
 */
export async function operatorState(
  engine: Engine,
  extra: Record<string, string> = {},
): Promise<Record<string, Record<string, unknown>[]>> {
  const S = `"${engine.schema}"`;
  const queries: Record<string, string> = {
    schedules: `select name, cron from ${S}.schedules order by name`,
    runs: `select schedule, kind from ${S}.schedule_runs order by schedule, fire_time`,
    switches: `select name, enabled from ${S}.switches order by name`,
    tenants: `select id from ${S}.tenants order by id`,
    tokens: `select id, revoked_at from ${S}.tokens order by id`,
    sources: `select name, secrets from ${S}.sources order by name`,
    events: `select id, replays from ${S}.events order by id`,
    jobs: `select count(*)::int as n from ${S}.jobs`,
    ...Object.fromEntries(Object.entries(extra).map(([k, q]) => [k, q.replaceAll("{{schema}}", S)])),
  };
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const [name, text] of Object.entries(queries)) out[name] = (await engine.pool.query(text)).rows;
  return out;
}

/** Stores a verified `push` event with an empty JSON body in `source`, as intake would; returns its id. */
export async function acceptEvent(engine: Engine, source: Source, eventId: string): Promise<string> {
  const input: AcceptInput = {
    source,
    eventId,
    type: "push",
    contentType: "application/json",
    headers: {},
    body: Buffer.from("{}"),
    verification: { provider: "github", secret: 1 },
  };
  return (await engine.intake.events.accept(input)).id;
}
