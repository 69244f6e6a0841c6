-- cancel: remove unfinished job $1 from the queue into history as 'cancelled' ($2 names who).
-- A running job's lease dies with it: its worker's heartbeat and completion are then rejected.
-- Returns the job's previous state; no row when the job is not unfinished.
with gone as (
  delete from {{schema}}.jobs where id = $1 returning *
),
reason as (
  select jsonb_build_object('code', 'cancelled', 'message', 'Cancelled by ' || $2::text) as error
),
history as (
  insert into {{schema}}.job_history
    (id, queue, handler, state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key, tenant,
     last_error, run_at, created_at, finished_at, origin)
  select g.id, g.queue, g.handler, 'cancelled', g.target, g.payload, g.priority, g.attempt, g.max_attempts,
         g.backoff, g.dedupe_key, g.tenant, r.error, g.run_at, g.created_at, now(), g.origin
  from gone g, reason r
),
tries as (
  insert into {{schema}}.attempts (job_id, attempt, queue, worker_id, outcome, error, started_at, finished_at)
  select g.id, g.attempt, g.queue, g.worker_id, 'cancelled', r.error, g.started_at, now()
  from gone g, reason r
  where g.state = 'running'
)
select id, state as previous_state from gone
