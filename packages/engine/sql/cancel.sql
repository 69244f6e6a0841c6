-- cancel: remove unfinished job $1 from the queue into history as 'cancelled' ($2 names who).
-- A running job's lease dies with it: its worker's heartbeat and completion are then rejected.
-- Returns the job's previous state; no row when the job is not unfinished.
with ended as (
  delete from {{schema}}.jobs where id = $1
  returning *, 'cancelled'::text as final_state,
            jsonb_build_object('code', 'cancelled', 'message', 'Cancelled by ' || $2::text) as final_error
),
tried as (
  select id, attempt, queue, worker_id, 'cancelled' as outcome, final_error as error, started_at,
         null::int as status, null::int as latency, null::text as body
  from ended
  where state = 'running'
),
{{include to_history}}
select id, state as previous_state from ended
