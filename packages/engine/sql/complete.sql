-- complete: finish the jobs whose ids $1 still match lease tokens $2, moving them to history
-- with their 'succeeded' try. $3 int[] response status, $4 int[] latency ms, $5 text[] start of
-- the response body, per job, null where not an HTTP delivery (or null for all: unnest pads a
-- missing array with nulls).
-- Returns the ids not finished, whose token was stale: none, nearly always, instead of one row
-- per job finished for the worker to read (decision 072).
with input as (
  -- Sorted, and limited to their count: one kept plan for one job or hundreds (decision 067).
  -- Each array behind a subquery: a connection's first five runs are planned with the values,
  -- and an array of hundreds that Postgres could count made it hash all of jobs (decision 081).
  select * from unnest((select $1::bigint[]), (select $2::uuid[]), (select $3::int[]), (select $4::int[]),
                       (select $5::text[]))
    as u(id, token, status, latency, body)
  order by 1
  limit cardinality($1::bigint[])
),
ended as (
  delete from {{schema}}.jobs j
  using input c
  where j.id = c.id and j.lease_token = c.token
  returning j.*, 'succeeded'::text as final_state, null::jsonb as final_error,
            'succeeded'::text as try_outcome, c.status as try_status, c.latency as try_latency, c.body as try_body
),
tried as (
  select null::bigint as id, null::int as attempt, null::text as queue, null::text as worker_id, null::text as outcome,
         null::jsonb as error, null::timestamptz as started_at, null::int as status, null::int as latency,
         null::text as body
  where false
),
{{include to_history}}
-- When every job ended (the usual case) the count says so and the ids are not compared.
select s.id from unnest($1::bigint[]) as s(id)
where (select count(*) from ended) < cardinality($1::bigint[])
  and not exists (select 1 from ended e where e.id = s.id)
