-- intake_accept_plain: intake_accept for a batch whose jobs carry no dedupe, singleton or
-- debounce key (routes without keys: the usual case), in one statement. The events as in
-- intake_accept ($1–$9); the jobs one per index, in order, encoded as enqueue_plain's columns:
-- $10 ev (1-based index of its event), $11 queue, $12 handler, $13 target, $14 payload, $15 run_at,
-- $16 delay_ms, $17 priority, $18 max_attempts, $19 backoff, $20 tenant, $21 origin (without the
-- event id), $22 flow_key, $23 flow_concurrency. Returns what intake_accept returns.
-- Without keys there is nothing to merge within the batch and no conflict on jobs: one plain
-- insert (enqueue_plain_jobs) instead of intake_accept's three, and no JSON record parsing
-- (decision 056's path for enqueue, taken by intake).
with
{{include intake_events}},
jobs as materialized (
  select x.ev, x.queue, x.handler, x.target, x.payload, x.run_at, x.delay_ms, x.priority, x.max_attempts,
         nullif(x.backoff, 'null') as backoff, x.tenant, nullif(x.origin, 'null') as origin, x.flow_key,
         x.flow_concurrency, x.ord
  from rows from (unnest($10::int[]), unnest($11::text[]), unnest($12::text[]), jsonb_array_elements($13::jsonb),
                  jsonb_array_elements($14::jsonb), unnest($15::timestamptz[]), unnest($16::bigint[]),
                  unnest($17::int[]), unnest($18::int[]), jsonb_array_elements($19::jsonb), unnest($20::text[]),
                  jsonb_array_elements($21::jsonb), unnest($22::text[]), unnest($23::int[])) with ordinality
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
