-- cancel: remove unfinished job $1 from the queue into history as 'cancelled' ($2 names who).
-- A running job's lease dies with it: its worker's heartbeat and completion are then rejected.
-- Returns the job's previous state; no row when the job is not unfinished.
with ended as (
  delete from {{schema}}.jobs where id = $1
  returning *, 'cancelled'::text as final_state,
            jsonb_build_object('code', 'cancelled', 'message', 'Cancelled by ' || $2::text) as final_error,
            -- A running job's try ends with it.
            case when state = 'running' then 'cancelled' end as try_outcome, null::int as try_status,
            null::int as try_latency, null::text as try_body
),
tried as (
  select null::bigint as id, null::int as attempt, null::text as queue, null::text as worker_id, null::text as outcome,
         null::jsonb as error, null::timestamptz as started_at, null::int as status, null::int as latency,
         null::text as body
  where false
),
{{include to_history}}
select id, state as previous_state from ended
