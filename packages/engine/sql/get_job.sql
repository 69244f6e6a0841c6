-- get_job: job $1 wherever it is, unfinished (jobs) or finished (job_history).
select id, queue, handler,
       case when state <> 'running' and run_at > now() then 'scheduled'
            when state <> 'running' then 'available' else state end as state,
       target, payload, priority, attempt, max_attempts, backoff, dedupe_key, tenant, last_error,
       run_at, created_at, lease_until, worker_id, null::timestamptz as finished_at, origin
from {{schema}}.jobs where id = $1
union all
select id, queue, handler, state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key, tenant,
       last_error, run_at, created_at, null, null, finished_at, origin
from {{schema}}.job_history where id = $1
