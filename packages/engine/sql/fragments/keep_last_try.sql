-- keep_last_try: the CTE that statements putting finished jobs back in the queue (retry_job,
-- retry_dead) include through an include line. Not a statement. Expects a CTE `src` holding the
-- job_history rows just deleted. The try that ended each job lived in its history row (decision
-- 053): it is kept as a row of attempts, so the job's tries read the same after the retry.
kept as (
  insert into {{schema}}.attempts
    (job_id, attempt, queue, worker_id, outcome, error, started_at, finished_at, response_status, latency_ms,
     response_body)
  select id, attempt, queue, try_worker_id, try_outcome, case when try_outcome = 'succeeded' then null else last_error end,
         try_started_at, finished_at, try_response_status, try_latency_ms, try_response_body
  from src
  where try_outcome is not null
)
