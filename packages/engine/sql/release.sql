-- release: hand jobs whose ids $1 still match lease tokens $2 back to the queue, unfinished,
-- without spending an attempt (graceful shutdown). The try is recorded as 'released'.
with released as (
  update {{schema}}.jobs j
  set state = 'available', attempt = j.attempt - 1, lease_token = null, lease_until = null
  -- Sorted, and limited to their count: one kept plan for one job or hundreds (decision 067);
  -- each array behind a subquery, so that a run planned with the values reads jobs by index too
  -- (decision 081).
  from (select * from unnest((select $1::bigint[]), (select $2::uuid[])) order by 1 limit cardinality($1::bigint[]))
    as r(id, token)
  where j.id = r.id and j.lease_token = r.token
  returning j.id, j.queue, j.attempt, j.worker_id, j.started_at
),
tries as (
  insert into {{schema}}.attempts (job_id, attempt, queue, worker_id, outcome, started_at, finished_at)
  select id, attempt + 1, queue, worker_id, 'released', started_at, now() from released
),
wake as (
  select pg_notify({{channel}}, queue) from (select distinct queue from released) q
)
select id from released where (select count(*) from wake) >= 0
