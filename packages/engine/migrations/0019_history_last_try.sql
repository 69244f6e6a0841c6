-- keel:additive — nullable columns on job_history that older code leaves null, and two indexes dropped that no statement of the previous version needs for its results (its plans fall back to jobs_ready / jobs_lease)
-- 0019 (decision 053): fewer bytes per finished job. The try that ends a job is recorded in its
-- history row (try_* columns) instead of a row of its own in attempts; attempts keeps the tries
-- a later try followed (failures that were retried, lapsed leases taken back, releases). A job
-- that succeeds at once — nearly every job — then costs one history row instead of a history
-- row, an attempt row and that row's two index entries. Readers take a job's tries from both
-- (job_attempts.sql); a job finished by older code has its last try in attempts and no try_*
-- values, so nothing is shown twice. Retrying a finished job moves the try back into attempts.
alter table job_history
  add column try_outcome text,
  add column try_worker_id text,
  add column try_started_at timestamptz,
  add column try_response_status integer,
  add column try_latency_ms integer,
  add column try_response_body text;

-- Unused since flow keys replaced the tenant limit (decision 051): each cost an index entry per
-- enqueued or claimed job.
drop index if exists jobs_ready_tenant;
drop index if exists jobs_running;

-- Every recorded try of every job: the rows of attempts, then the try each finished job ended
-- with. `ord` orders one job's tries (null, the last, sorts after the rest).
create view job_tries as
  select id as ord, job_id, attempt, queue, worker_id, outcome, error, started_at, finished_at,
         response_status, latency_ms, response_body
  from attempts
  union all
  select null, id, attempt, queue, try_worker_id, try_outcome,
         case when try_outcome = 'succeeded' then null else last_error end,
         try_started_at, finished_at, try_response_status, try_latency_ms, try_response_body
  from job_history
  where try_outcome is not null;
