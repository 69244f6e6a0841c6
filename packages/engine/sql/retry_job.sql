-- retry_job: put dead or cancelled job $1 back in its queue with a fresh set of attempts.
-- Keeps the job id; returns its id and queue. Fails with a unique violation when its dedupe key is taken by a live job.
with src as (
  delete from {{schema}}.job_history where id = $1 and state in ('dead', 'cancelled') returning *
),
-- The try that ended the job lived in its history row (decision 053): keep it as an attempt.
kept as (
  insert into {{schema}}.attempts
    (job_id, attempt, queue, worker_id, outcome, error, started_at, finished_at, response_status, latency_ms,
     response_body)
  select id, attempt, queue, try_worker_id, try_outcome, case when try_outcome = 'succeeded' then null else last_error end,
         try_started_at, finished_at, try_response_status, try_latency_ms, try_response_body
  from src
  where try_outcome is not null
),
ins as (
  insert into {{schema}}.jobs
    (id, queue, handler, state, target, payload, run_at, priority, attempt, max_attempts, backoff, dedupe_key,
     tenant, last_error, created_at, origin)
  select id, queue, handler, 'available', target, payload, now(), priority, 0, max_attempts, backoff, dedupe_key,
         tenant, last_error, created_at, origin
  from src
  returning id, queue
),
wake as (
  select pg_notify({{channel}}, queue) from ins
)
select id, queue from ins where (select count(*) from wake) >= 0
