-- to_history: the terminal job transition, written once and included by the statements that
-- end a job (complete, fail, cancel, sweep_leases) through an include line. Not a statement.
-- Expects two CTEs before it:
--   ended(<every jobs column>, final_state text, final_error jsonb): the rows just deleted from
--     jobs, with the state ('succeeded', 'dead', 'cancelled') and error they end with;
--   tried(id, attempt, queue, worker_id, outcome, error, started_at, status, latency, body): the
--     tries that ended here, at most one per job (terminal or not).
-- The try that ends a job goes into its history row (try_*); only tries a later try follows get
-- a row in attempts (decision 053).
history as (
  insert into {{schema}}.job_history
    (id, queue, handler, state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key, tenant,
     last_error, run_at, created_at, finished_at, origin,
     try_outcome, try_worker_id, try_started_at, try_response_status, try_latency_ms, try_response_body)
  select e.id, e.queue, e.handler, e.final_state, e.target, e.payload, e.priority, e.attempt, e.max_attempts,
         e.backoff, e.dedupe_key, e.tenant, e.final_error, e.run_at, e.created_at, now(), e.origin,
         t.outcome, t.worker_id, t.started_at, t.status, t.latency, t.body
  from ended e
  left join tried t on t.id = e.id
),
tries as (
  insert into {{schema}}.attempts
    (job_id, attempt, queue, worker_id, outcome, error, started_at, finished_at, response_status, latency_ms, response_body)
  select id, attempt, queue, worker_id, outcome, error, started_at, now(), status, latency, body
  from tried t
  where not exists (select 1 from ended e where e.id = t.id)
)
