-- enqueue_jobs: the job inserts of a batch, written once and included by the statements that
-- enqueue (enqueue, intake_accept) through an include line. Not a statement.
-- Expects one CTE before it:
--   input(ord int, rn bigint (row_number over ord), queue, handler, target, payload, run_at,
--     delay_ms, priority, max_attempts, backoff, dedupe_key, tenant, origin, flow_key,
--     flow_concurrency, singleton_key, debounce_key, debounce_max_ms): the jobs, their dedupe,
--     singleton and debounce keys unique within it.
-- Leaves src (one row per input row that passed the switch check, with its new id and
-- match_key) and done(id, queue, state, inserted, match_key) for the statement's select.
-- Ids are drawn first and handed out in input order, so jobs of one batch run in the order
-- given (claims order by run_at, then id); nextval in a join would number them in join order.
-- The sequence is looked up once (a scalar subquery), not per row: per row it cost a catalog
-- lookup per job, a sixth of the statement.
ids as materialized (
  select id, row_number() over (order by id) as rn
  from (select nextval((select pg_get_serial_sequence('{{schema}}.jobs', 'id')::regclass)) as id
        from generate_series(1, (select count(*) from input))) drawn
),
src as materialized (
  select x.ord, ids.id, x.queue, x.handler, x.target,
         coalesce(x.payload, 'null'::jsonb) as payload,
         coalesce(x.run_at, now() + coalesce(x.delay_ms, 0) * interval '1 millisecond') as run_at,
         coalesce(x.priority, 0) as priority,
         coalesce(x.max_attempts, q.max_attempts) as max_attempts,
         coalesce(x.backoff, q.backoff) as backoff,
         x.dedupe_key, x.tenant, x.origin,
         -- The key the call gave, else the queue's key expression, else for an HTTP target its host
         -- (the deliverer's per-host default applies to it; decision 051).
         coalesce(x.flow_key, {{schema}}.flow_key_of(q.flow_key, x.tenant, x.target, x.payload),
                  case when x.handler = '@http' then {{schema}}.flow_key_of('host', null, x.target, null) end) as flow_key,
         x.flow_concurrency, x.singleton_key, x.debounce_key,
         now() + x.debounce_max_ms * interval '1 millisecond' as debounce_until,
         (x.flow_key is not null or x.flow_concurrency is not null or x.handler = '@http') and not q.flow_jobs
           as marks_queue,
         coalesce('d:' || x.dedupe_key, 's:' || x.singleton_key, 'b:' || x.debounce_key) as match_key
  from input x
  join ids on ids.rn = x.rn
  join {{schema}}.queues q on q.name = x.queue
  -- An 'enqueue:<queue>' switch that is off refuses the whole batch: all or nothing.
  where not exists (
    select 1 from {{schema}}.switches s
    where not s.enabled
      and s.name in (select 'enqueue:' || y.queue from input y))
),
-- A job with a flow key of its own makes its queue's claims take the limited path.
marked as (
  update {{schema}}.queues q set flow_jobs = true
  where q.name in (select queue from src where marks_queue) and not q.flow_jobs
),
ins as (
  insert into {{schema}}.jobs as j
    (id, queue, handler, state, target, payload, run_at, priority, max_attempts, backoff, dedupe_key, tenant,
     origin, flow_key, flow_concurrency)
  select id, queue, handler, case when run_at > now() then 'scheduled' else 'available' end,
         target, payload, run_at, priority, max_attempts, backoff, dedupe_key, tenant, origin, flow_key, flow_concurrency
  from src
  where singleton_key is null and debounce_key is null
  order by ord
  on conflict (queue, dedupe_key) where dedupe_key is not null
  do update set dedupe_key = excluded.dedupe_key
  returning j.id, j.queue, j.state, (j.xmax = 0) as inserted, 'd:' || j.dedupe_key as match_key
),
-- Singleton, mode queue: one unclaimed job per key; its flow key runs one at a time.
ins_singleton as (
  insert into {{schema}}.jobs as j
    (id, queue, handler, state, target, payload, run_at, priority, max_attempts, backoff, tenant,
     origin, flow_key, flow_concurrency, singleton_key)
  select id, queue, handler, case when run_at > now() then 'scheduled' else 'available' end,
         target, payload, run_at, priority, max_attempts, backoff, tenant, origin, singleton_key, 1, singleton_key
  from src
  where singleton_key is not null
  order by ord
  on conflict (queue, singleton_key) where singleton_key is not null
  do update set singleton_key = excluded.singleton_key
  returning j.id, j.queue, j.state, (j.xmax = 0) as inserted, 's:' || j.singleton_key as match_key
),
-- Debounce: the newcomer's job replaces the pending one's and pushes its run_at to the end of
-- the quiet period, but not past the first enqueue's maximum wait (debounce_until).
ins_debounce as (
  insert into {{schema}}.jobs as j
    (id, queue, handler, state, target, payload, run_at, priority, max_attempts, backoff, tenant,
     origin, flow_key, flow_concurrency, debounce_key, debounce_until)
  select id, queue, handler, case when run_at > now() then 'scheduled' else 'available' end,
         target, payload, least(run_at, debounce_until), priority, max_attempts, backoff, tenant, origin, flow_key,
         flow_concurrency, debounce_key, debounce_until
  from src
  where debounce_key is not null
  order by ord
  on conflict (queue, debounce_key) where debounce_key is not null
  do update set handler = excluded.handler, target = excluded.target, payload = excluded.payload,
    priority = excluded.priority, max_attempts = excluded.max_attempts, backoff = excluded.backoff,
    tenant = excluded.tenant, origin = excluded.origin, flow_key = excluded.flow_key,
    flow_concurrency = excluded.flow_concurrency,
    run_at = least(excluded.run_at, coalesce(j.debounce_until, 'infinity')),
    state = case when least(excluded.run_at, coalesce(j.debounce_until, 'infinity')) > now()
                 then 'scheduled' else 'available' end
  returning j.id, j.queue, j.state, (j.xmax = 0) as inserted, 'b:' || j.debounce_key as match_key
),
done as (
  select * from ins union all select * from ins_singleton union all select * from ins_debounce
)
