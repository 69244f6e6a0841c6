-- complete: finish the jobs whose ids $1 still match lease tokens $2, moving them to history
-- with a 'succeeded' attempt. $3 int[] response status, $4 int[] latency ms, $5 text[] start of
-- the response body, per job, null where not an HTTP delivery.
-- Returns the ids finished; an absent id had a stale token.
with done as (
  delete from {{schema}}.jobs j
  using unnest($1::bigint[], $2::uuid[], $3::int[], $4::int[], $5::text[]) as c(id, token, status, latency, body)
  where j.id = any($1::bigint[]) and j.id = c.id and j.lease_token = c.token
  returning j.*, c.status, c.latency, c.body
),
history as (
  insert into {{schema}}.job_history
    (id, queue, handler, state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key, tenant,
     last_error, run_at, created_at, finished_at, origin)
  select id, queue, handler, 'succeeded', target, payload, priority, attempt, max_attempts, backoff, dedupe_key,
         tenant, null, run_at, created_at, now(), origin
  from done
),
tries as (
  insert into {{schema}}.attempts
    (job_id, attempt, queue, worker_id, outcome, started_at, finished_at, response_status, latency_ms, response_body)
  select id, attempt, queue, worker_id, 'succeeded', started_at, now(), status, latency, body
  from done
)
select id from done
