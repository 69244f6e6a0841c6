-- intake_event_jobs: the jobs event $1 (its id as text) made, on arrival and by replays, oldest
-- first, wherever they are: unfinished (jobs) or finished (job_history). Columns of list_jobs.
select id, queue, handler, state, target, priority, attempt, max_attempts, tenant, dedupe_key, last_error,
       run_at, created_at, finished_at, origin
from (
  select id, queue, handler,
         case when state <> 'running' and run_at > now() then 'scheduled'
              when state <> 'running' then 'available' else state end as state,
         target, priority, attempt, max_attempts, tenant, dedupe_key, last_error, run_at, created_at,
         null::timestamptz as finished_at, origin
  from {{schema}}.jobs
  where origin ? 'event' and origin ->> 'event' = $1::text
  union all
  select id, queue, handler, state, target, priority, attempt, max_attempts, tenant, dedupe_key, last_error,
         run_at, created_at, finished_at, origin
  from {{schema}}.job_history
  where origin ? 'event' and origin ->> 'event' = $1::text
) made
order by id
