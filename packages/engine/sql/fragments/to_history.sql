-- to_history: the terminal job transition, written once and included by the statements that
-- end a job (complete, fail, cancel, sweep_leases) through an include line. Not a statement.
-- Expects two CTEs before it:
--   ended(<every jobs column>, final_state text, final_error jsonb): the rows just deleted from
--     jobs, with the state ('succeeded', 'dead', 'cancelled') and error they end with;
--   tried(id, attempt, queue, worker_id, outcome, error, started_at, status, latency, body): the
--     attempts to record, one per job whose try ended here (terminal or not).
history as (
  insert into {{schema}}.job_history
    (id, queue, handler, state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key, tenant,
     last_error, run_at, created_at, finished_at, origin)
  select id, queue, handler, final_state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key,
         tenant, final_error, run_at, created_at, now(), origin
  from ended
),
tries as (
  insert into {{schema}}.attempts
    (job_id, attempt, queue, worker_id, outcome, error, started_at, finished_at, response_status, latency_ms, response_body)
  select id, attempt, queue, worker_id, outcome, error, started_at, now(), status, latency, body
  from tried
)
