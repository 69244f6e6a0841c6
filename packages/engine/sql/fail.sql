-- fail: record failed attempts of jobs whose ids $1 still match lease tokens $2.
-- $3 bigint[]: retry delay in milliseconds per job, null to stop retrying; $4 jsonb[]: the error;
-- $5 int[], $6 int[], $7 text[]: response status, latency ms and start of the body (deliveries;
-- null for a batch without them: unnest pads a missing array with nulls).
-- A job with attempts left is rescheduled; otherwise (or with a null delay) it moves to history
-- as 'dead'. Returns (id, outcome) per job handled; an absent id had a stale token.
-- The input sorted, and limited to its count: one kept plan for one job or hundreds (decision
-- 067).
with input as (
  -- Each array behind a subquery, so that a run planned with the values reads jobs by index too
  -- (decision 081).
  select * from unnest((select $1::bigint[]), (select $2::uuid[]), (select $3::bigint[]), (select $4::jsonb[]),
                       (select $5::int[]), (select $6::int[]), (select $7::text[]))
    as f(id, token, delay_ms, error, status, latency, body)
  order by id
  limit cardinality($1::bigint[])
),
retried as (
  update {{schema}}.jobs j
  set state = case when f.delay_ms > 0 then 'scheduled' else 'available' end,
      run_at = now() + f.delay_ms * interval '1 millisecond',
      lease_token = null, lease_until = null, last_error = f.error
  from input f
  where j.id = f.id and j.lease_token = f.token and f.delay_ms is not null and j.attempt < j.max_attempts
  returning j.id, j.queue, j.state, j.attempt, j.worker_id, j.started_at, f.error, f.status, f.latency, f.body
),
ended as (
  delete from {{schema}}.jobs j
  using input f
  where j.id = f.id and j.lease_token = f.token and (f.delay_ms is null or j.attempt >= j.max_attempts)
  returning j.*, 'dead'::text as final_state, f.error as final_error,
            'failed'::text as try_outcome, f.status as try_status, f.latency as try_latency, f.body as try_body
),
tried as (
  select id, attempt, queue, worker_id, 'failed' as outcome, error, started_at, status, latency, body from retried
),
{{include to_history}},
wake as (
  select pg_notify({{channel}}, queue) from (select distinct queue from retried where state = 'available') q
)
select id, 'retry' as outcome from retried where (select count(*) from wake) >= 0
union all
select id, 'dead' as outcome from ended
