-- enqueue_plain_jobs: the insert of a batch of jobs that carry no dedupe, singleton or debounce
-- key, written once and included by the statements that take that path (enqueue_plain,
-- intake_accept_plain; decision 056). Not a statement.
-- Expects one CTE before it:
--   input(ord, queue, handler, target jsonb, payload jsonb, run_at, delay_ms, priority,
--     max_attempts, backoff jsonb, tenant, origin jsonb, flow_key, flow_concurrency).
-- Leaves ins(id, state): the jobs inserted, ids drawn in `ord` order; none when an
-- 'enqueue:<queue>' switch of the batch is off (all or nothing).
src as materialized (
  select x.ord, x.queue, x.handler, x.target,
         coalesce(x.payload, 'null'::jsonb) as payload,
         coalesce(x.run_at, now() + coalesce(x.delay_ms, 0) * interval '1 millisecond') as run_at,
         coalesce(x.priority, 0) as priority,
         coalesce(x.max_attempts, q.max_attempts) as max_attempts,
         coalesce(x.backoff, q.backoff) as backoff,
         x.tenant, x.origin,
         -- As in enqueue.sql: the call's key, else the queue's expression, else an HTTP target's host.
         coalesce(x.flow_key, {{schema}}.flow_key_of(q.flow_key, x.tenant, x.target, x.payload),
                  case when x.handler = '@http' then {{schema}}.flow_key_of('host', null, x.target, null) end) as flow_key,
         x.flow_concurrency,
         (x.flow_key is not null or x.flow_concurrency is not null or x.handler = '@http') and not q.flow_jobs
           as marks_queue
  from input x
  join {{schema}}.queues q on q.name = x.queue
  where not exists (
    select 1 from {{schema}}.switches s
    where not s.enabled
      and s.name in (select distinct 'enqueue:' || y.queue from input y))
),
marked as (
  update {{schema}}.queues q set flow_jobs = true
  where q.name in (select queue from src where marks_queue) and not q.flow_jobs
),
-- Ids come from the column default, drawn as the sorted rows are inserted: in input order.
ins as (
  insert into {{schema}}.jobs as j
    (queue, handler, state, target, payload, run_at, priority, max_attempts, backoff, tenant, origin, flow_key,
     flow_concurrency)
  select queue, handler, case when run_at > now() then 'scheduled' else 'available' end,
         target, payload, run_at, priority, max_attempts, backoff, tenant, origin, flow_key, flow_concurrency
  from src
  order by ord
  returning j.id, j.state
)
