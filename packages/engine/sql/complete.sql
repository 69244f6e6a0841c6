-- complete: finish the jobs whose ids $1 still match lease tokens $2, moving them to history
-- with a 'succeeded' attempt. Returns the ids finished; an absent id had a stale token.
with done as (
  delete from {{schema}}.jobs j
  using unnest($1::bigint[], $2::uuid[]) as c(id, token)
  where j.id = any($1::bigint[]) and j.id = c.id and j.lease_token = c.token
  returning j.*
),
history as (
  insert into {{schema}}.job_history
    (id, queue, handler, state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key, tenant,
     last_error, run_at, created_at, finished_at)
  select id, queue, handler, 'succeeded', target, payload, priority, attempt, max_attempts, backoff, dedupe_key,
         tenant, null, run_at, created_at, now()
  from done
),
tries as (
  insert into {{schema}}.attempts (job_id, attempt, queue, worker_id, outcome, started_at, finished_at)
  select id, attempt, queue, worker_id, 'succeeded', started_at, now()
  from done
)
select id from done
