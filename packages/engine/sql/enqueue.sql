-- enqueue: insert a batch of jobs in one round trip.
-- $1 jsonb array of {ord, queue, handler, target, payload, run_at?, delay_ms?, priority?,
--    max_attempts?, backoff?, dedupe_key?, tenant?}; dedupe keys are unique within the batch.
-- Returns one row per ord: the job id, its state, and inserted = false when a dedupe key matched
-- an unfinished job. The no-op DO UPDATE makes that existing row visible to RETURNING even when
-- it was inserted by a concurrent transaction (DO NOTHING would return nothing).
with input as materialized (
  select x.*, row_number() over (order by x.ord) as rn
  from jsonb_to_recordset($1::jsonb) as x(
         ord int, queue text, handler text, target jsonb, payload jsonb, run_at timestamptz,
         delay_ms bigint, priority int, max_attempts int, backoff jsonb, dedupe_key text, tenant text, origin jsonb)
),
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
         x.dedupe_key, x.tenant, x.origin
  from input x
  join ids on ids.rn = x.rn
  join {{schema}}.queues q on q.name = x.queue
  -- An 'enqueue:<queue>' switch that is off refuses the whole batch: all or nothing.
  where not exists (
    select 1 from {{schema}}.switches s
    where not s.enabled
      and s.name in (select 'enqueue:' || y.queue from input y))
),
ins as (
  insert into {{schema}}.jobs as j
    (id, queue, handler, state, target, payload, run_at, priority, max_attempts, backoff, dedupe_key, tenant,
     origin)
  select id, queue, handler, case when run_at > now() then 'scheduled' else 'available' end,
         target, payload, run_at, priority, max_attempts, backoff, dedupe_key, tenant, origin
  from src
  order by ord
  on conflict (queue, dedupe_key) where dedupe_key is not null
  do update set dedupe_key = excluded.dedupe_key
  returning j.id, j.queue, j.dedupe_key, j.state, (j.xmax = 0) as inserted
)
-- Two equi-joins (by new id, then by dedupe key for rows that met an existing job) keep this
-- a hash join; one join on an OR condition made it quadratic in the batch size.
select s.ord, coalesce(n.id, d.id) as id, coalesce(n.state, d.state) as state, coalesce(n.inserted, d.inserted) as inserted
from src s
left join ins n on n.id = s.id
left join ins d on n.id is null and d.queue = s.queue and d.dedupe_key = s.dedupe_key
order by s.ord
