-- enqueue: insert a batch of jobs in one round trip.
-- $1 jsonb array of {ord, queue, handler, target, payload, run_at?, delay_ms?, priority?,
--    max_attempts?, backoff?, dedupe_key?, tenant?, flow_key?, flow_concurrency?, singleton_key?,
--    debounce_key?, debounce_max_ms?}; dedupe, singleton and debounce keys are unique within the
--    batch, and a job has at most one of them.
-- Returns one row per ord: the job id, its state, and inserted = false when a dedupe or singleton
-- key matched an unclaimed (singleton) or unfinished (dedupe) job, or a debounce key replaced the
-- pending job's payload and pushed its run_at. The no-op DO UPDATE makes that existing row visible
-- to RETURNING even when it was inserted by a concurrent transaction (DO NOTHING would return nothing).
-- Each key kind has its own insert: ON CONFLICT takes one unique index.
with input as materialized (
  select x.*, row_number() over (order by x.ord) as rn
  from jsonb_to_recordset($1::jsonb) as x(
         ord int, queue text, handler text, target jsonb, payload jsonb, run_at timestamptz,
         delay_ms bigint, priority int, max_attempts int, backoff jsonb, dedupe_key text, tenant text, origin jsonb,
         flow_key text, flow_concurrency int, singleton_key text, debounce_key text, debounce_max_ms bigint)
),
{{include enqueue_jobs}}
-- Two equi-joins (by new id, then by key for rows that met an existing job) keep this a hash
-- join; one join on an OR condition made it quadratic in the batch size.
select s.ord, coalesce(n.id, d.id) as id, coalesce(n.state, d.state) as state,
       coalesce(n.inserted, d.inserted) as inserted
from src s
left join done n on n.id = s.id
left join done d on n.id is null and d.queue = s.queue and d.match_key = s.match_key
order by s.ord
