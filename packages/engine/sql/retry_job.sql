-- retry_job: put dead or cancelled job $1 back in its queue with a fresh set of attempts.
-- Keeps the job id; returns its id and queue. Fails with a unique violation when its dedupe key is taken by a live job.
with src as (
  delete from {{schema}}.job_history where id = $1 and state in ('dead', 'cancelled') returning *
),
{{include keep_last_try}},
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
