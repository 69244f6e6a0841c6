-- intake_accept_plain: intake_accept for a batch whose jobs carry no dedupe, singleton or
-- debounce key (routes without keys: the usual case), in one statement. The events as in
-- intake_accept ($1–$8); the jobs one per index, in order, encoded as enqueue_plain's columns:
-- $9 ev (1-based index of its event), $10 queue, $11 handler, $12 target, $13 payload, $14 run_at,
-- $15 delay_ms, $16 priority, $17 max_attempts, $18 backoff, $19 tenant, $20 origin (without the
-- event id), $21 flow_key, $22 flow_concurrency. Returns what intake_accept returns.
-- Without keys there is nothing to merge within the batch and no conflict on jobs: one plain
-- insert (enqueue_plain_jobs) instead of intake_accept's three, and no JSON record parsing
-- (decision 056's path for enqueue, taken by intake).
with ev as materialized (
  select *
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bytea[], $7::jsonb[], $8::int[])
    with ordinality as x(source, event_id, type, content_type, headers, body, verification, jobs_created, ev)
),
jobs as materialized (
  select x.ev, x.queue, x.handler, x.target, x.payload, x.run_at, x.delay_ms, x.priority, x.max_attempts,
         nullif(x.backoff, 'null') as backoff, x.tenant, nullif(x.origin, 'null') as origin, x.flow_key,
         x.flow_concurrency, x.ord
  from rows from (unnest($9::int[]), unnest($10::text[]), unnest($11::text[]), jsonb_array_elements($12::jsonb),
                  jsonb_array_elements($13::jsonb), unnest($14::timestamptz[]), unnest($15::bigint[]),
                  unnest($16::int[]), unnest($17::int[]), jsonb_array_elements($18::jsonb), unnest($19::text[]),
                  jsonb_array_elements($20::jsonb), unnest($21::text[]), unnest($22::int[])) with ordinality
       as x(ev, queue, handler, target, payload, run_at, delay_ms, priority, max_attempts, backoff, tenant, origin,
            flow_key, flow_concurrency, ord)
),
{{include intake_store_events}},
-- The jobs of the events stored now, each origin naming its event.
input as (
  select j.ord, j.queue, j.handler, j.target, j.payload, j.run_at, j.delay_ms, j.priority, j.max_attempts,
         j.backoff, j.tenant, coalesce(j.origin, '{}'::jsonb) || jsonb_build_object('event', s.id::text) as origin,
         j.flow_key, j.flow_concurrency
  from jobs j
  join ev on ev.ev = j.ev
  join stored s on s.source = ev.source and s.event_id = ev.event_id
),
{{include enqueue_plain_jobs}}
{{include intake_answer}}
