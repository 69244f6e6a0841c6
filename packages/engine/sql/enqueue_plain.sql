-- enqueue_plain: insert a batch of jobs that carry no dedupe, singleton or debounce key, in one
-- round trip. Columns of one length, one job per index, in input order: text and number columns
-- as typed arrays, JSON columns as one JSON array each (no array-literal escaping of JSON text;
-- JSON null: none), and a column that is null for every job as null (ROWS FROM pads it):
-- $1 queue, $2 handler, $3 target, $4 payload, $5 run_at, $6 delay_ms, $7 priority,
-- $8 max_attempts, $9 backoff, $10 tenant, $11 origin, $12 flow_key, $13 flow_concurrency; and
-- the job's `job.create` audit entry, written by the same statement (so it commits with the job,
-- without a transaction around): $14 actor (null: not audited), $15 source, $16 details.
-- Returns one row: the ids and states of the jobs inserted, in input order (ids increasing); no
-- ids when an 'enqueue:<queue>' switch of the batch is off (all or nothing, like enqueue.sql).
-- Typed columns instead of enqueue.sql's jsonb_to_recordset: each payload is parsed once, and
-- without the key kinds there is no conflict handling and no join back to the input.
with input as (
  select x.queue, x.handler, x.target, x.payload, x.run_at, x.delay_ms, x.priority, x.max_attempts,
         nullif(x.backoff, 'null') as backoff, x.tenant, nullif(x.origin, 'null') as origin, x.flow_key,
         x.flow_concurrency, x.actor, x.source, nullif(x.details, 'null') as details, x.ord
  from rows from (unnest($1::text[]), unnest($2::text[]), jsonb_array_elements($3::jsonb),
                  jsonb_array_elements($4::jsonb), unnest($5::timestamptz[]), unnest($6::bigint[]),
                  unnest($7::int[]), unnest($8::int[]), jsonb_array_elements($9::jsonb), unnest($10::text[]),
                  jsonb_array_elements($11::jsonb), unnest($12::text[]), unnest($13::int[]), unnest($14::text[]),
                  unnest($15::text[]), jsonb_array_elements($16::jsonb)) with ordinality
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
select array_agg(id order by ord)::text[] as ids, array_agg(state order by ord) as states from numbered
