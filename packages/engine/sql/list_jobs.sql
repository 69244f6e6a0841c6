-- list_jobs: up to $4 jobs, newest first, optionally of queue $1 and in state $2, with ids below
-- cursor $3, narrowed by $5–$10 (list_jobs_filter: tenant, handler, target host, dedupe key,
-- created from/to). A queue with a finished state is list_finished_jobs' (decision 083); a
-- dedupe key pages through job_history_dedupe_key. Unfinished jobs come from jobs, finished ones from job_history. Each side takes its
-- own newest $4 first (a backward walk of its primary key that stops at $4 matches), then the
-- two are merged: without the inner limits Postgres sorted all of history on every page.
select id, queue, handler, state, target, priority, attempt, max_attempts, tenant, dedupe_key, last_error,
       run_at, created_at, finished_at, origin
from (
  (select id, queue, handler, state, target, priority, attempt, max_attempts, tenant, dedupe_key, last_error,
          run_at, created_at, finished_at, origin
   from (
     select id, queue, handler,
            case when state <> 'running' and run_at > now() then 'scheduled'
                 when state <> 'running' then 'available' else state end as state,
            target, priority, attempt, max_attempts, tenant, dedupe_key, last_error, run_at, created_at,
            null::timestamptz as finished_at, origin
     from {{schema}}.jobs
     where ($1::text is null or queue = $1) and ($3::bigint is null or id < $3)
       and {{include list_jobs_filter}}
       and ($2::text is null or $2 in ('scheduled', 'available', 'running'))
   ) live
   where $2::text is null or live.state = $2
   order by id desc
   limit $4)
  union all
  (select id, queue, handler, state, target, priority, attempt, max_attempts, tenant, dedupe_key, last_error,
          run_at, created_at, finished_at, origin
   from {{schema}}.job_history
   where ($1::text is null or queue = $1) and ($3::bigint is null or id < $3)
     and {{include list_jobs_filter}}
     and ($2::text is null or state = $2)
   order by id desc
   limit $4)
) all_jobs
order by id desc
limit $4
