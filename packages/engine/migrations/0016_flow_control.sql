-- keel:additive — new nullable columns, a table, indexes and a function; older code reads none of them
-- 0016: flow control per key (decisions 051 and 052). A job carries at most one flow key: the
-- value of its queue's key expression (tenant, target host, a payload field, a literal) or the
-- key its enqueue call gave. Claims limit running jobs and starts per key value; singleton and
-- debounce keys are unique among a queue's unclaimed jobs (a claim clears them).
alter table queues
  add column flow_key text,
  add column flow_concurrency integer check (flow_concurrency is null or flow_concurrency > 0),
  add column flow_rate_limit integer check (flow_rate_limit is null or flow_rate_limit > 0),
  add column flow_rate_window_seconds integer check (flow_rate_window_seconds is null or flow_rate_window_seconds > 0),
  add column flow_rate_burst integer check (flow_rate_burst is null or flow_rate_burst > 0),
  -- Set once a job of the queue carried a flow key of its own: its claims take the limited path.
  add column flow_jobs boolean not null default false,
  -- Where the next claim's walk over the keys starts (round robin across claims).
  add column flow_cursor text;

alter table jobs
  add column flow_key text,
  add column flow_concurrency integer check (flow_concurrency is null or flow_concurrency > 0),
  add column singleton_key text,
  add column debounce_key text,
  add column debounce_until timestamptz;

-- Claims walk the distinct keys with unclaimed jobs (a loose index scan) and take each key's
-- next jobs; jobs without a key are found here too (flow_key is null).
create index jobs_ready_flow on jobs (queue, flow_key, priority desc, run_at, id) where state <> 'running';
-- Running jobs per key value, counted by every claim of a flow-limited queue.
create index jobs_running_flow on jobs (queue, flow_key) where state = 'running' and flow_key is not null;
-- At most one unclaimed job per singleton key (mode queue) and per debounce key.
create unique index jobs_singleton on jobs (queue, singleton_key) where singleton_key is not null;
create unique index jobs_debounce on jobs (queue, debounce_key) where debounce_key is not null;

-- GCRA state of rate-limited keys: the theoretical arrival time, as the rate limiter keeps it
-- (decision 016), moved by each claim of the queue (claims of a limited queue serialise).
create table flow_rates (
  queue text not null,
  key text not null,
  tat timestamptz not null,
  primary key (queue, key)
);

-- A job's flow key from its queue's key expression: 'tenant', 'host' (of an HTTP target),
-- 'payload.<field>[.<field>…]' or 'literal:<text>'. SQL so that the planner inlines it.
create function flow_key_of(p_expr text, p_tenant text, p_target jsonb, p_payload jsonb)
returns text
language sql immutable parallel safe
as $$
  select case
    when p_expr is null then null
    when p_expr = 'tenant' then p_tenant
    when p_expr = 'host' then lower(substring(p_target ->> 'url' from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)'))
    when p_expr like 'payload.%' then left(p_payload #>> string_to_array(substr(p_expr, 9), '.'), 255)
    when p_expr like 'literal:%' then substr(p_expr, 9)
  end
$$;

-- tenantConcurrency becomes the flow key 'tenant' with the same limit; the column stays for
-- processes of the previous version, and upsert_queue keeps writing both.
update queues set flow_key = 'tenant', flow_concurrency = tenant_concurrency where tenant_concurrency is not null;
update jobs j set flow_key = j.tenant
from queues q
where q.name = j.queue and q.flow_key = 'tenant' and j.tenant is not null;
