-- to_history: the terminal job transition, written once and included by the statements that
-- end a job (complete, fail, cancel, sweep_leases) through an include line. Not a statement.
-- Expects two CTEs before it:
--   ended(<every jobs column>, final_state text, final_error jsonb, try_outcome text,
--     try_status int, try_latency int, try_body text): the rows just deleted from jobs, with the
--     state ('succeeded', 'dead', 'cancelled') and error they end with, and the try that ended
--     them (try_outcome null when none did: a job cancelled before it ran);
--   tried(id, attempt, queue, worker_id, outcome, error, started_at, status, latency, body): the
--     tries that ended here without ending their job (a retried failure, a lapsed lease taken back).
-- The try that ends a job goes into its history row (try_*); the others get a row in attempts
-- (decision 053).
history as (
  insert into {{schema}}.job_history
    (id, queue, handler, state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key, tenant,
     last_error, run_at, created_at, finished_at, origin,
     try_outcome, try_worker_id, try_started_at, try_response_status, try_latency_ms, try_response_body)
  select id, queue, handler, final_state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key,
         tenant, final_error, run_at, created_at, now(), origin,
         try_outcome, case when try_outcome is not null then worker_id end,
         case when try_outcome is not null then started_at end, try_status, try_latency, try_body
  from ended
),
tries as (
  insert into {{schema}}.attempts
    (job_id, attempt, queue, worker_id, outcome, error, started_at, finished_at, response_status, latency_ms, response_body)
  select id, attempt, queue, worker_id, outcome, error, started_at, now(), status, latency, body
  from tried
)
