-- enqueue_plain: insert a batch of jobs that carry no dedupe, singleton or debounce key, in one
-- round trip. Columns as typed arrays of one length, one job per index, in input order:
-- $1 queue, $2 handler, $3 target (jsonb text), $4 payload (jsonb text, null: JSON null),
-- $5 run_at, $6 delay_ms, $7 priority, $8 max_attempts, $9 backoff (jsonb text), $10 tenant,
-- $11 origin (jsonb text), $12 flow_key, $13 flow_concurrency; and the job's `job.create` audit
-- entry, written by the same statement (so it commits with the job, without a transaction
-- around): $14 actor (null: not audited), $15 source, $16 details (jsonb text).
-- Returns id and state of every job inserted, ids increasing in input order; nothing when an
-- 'enqueue:<queue>' switch of the batch is off (all or nothing, like enqueue.sql).
-- Typed arrays instead of enqueue.sql's jsonb_to_recordset: each payload is parsed once, and
-- without the key kinds there is no conflict handling and no join back to the input.
with input as (
  select x.*
  from unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[], $5::timestamptz[], $6::bigint[], $7::int[],
              $8::int[], $9::jsonb[], $10::text[], $11::jsonb[], $12::text[], $13::int[], $14::text[], $15::text[],
              $16::jsonb[]) with ordinality
       as x(queue, handler, target, payload, run_at, delay_ms, priority, max_attempts, backoff, tenant, origin,
            flow_key, flow_concurrency, actor, source, details, ord)
),
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
),
-- All or nothing: when any job is inserted, all are, so the k-th smallest id is input row k.
numbered as (
  select id, state, row_number() over (order by id) as ord from ins
),
audited as (
  insert into {{schema}}.audit_log (actor, action, target, source, details)
  select x.actor, 'job.create', 'job:' || n.id, x.source, x.details
  from numbered n
  join input x on x.ord = n.ord
  where x.actor is not null
)
select id, state from numbered order by ord
