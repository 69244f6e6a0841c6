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
{{include enqueue_plain_jobs}},
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
