-- list_finished_jobs: up to $4 jobs of queue $1 that ended in state $2 (dead or cancelled; the
-- succeeded ones are list_succeeded_jobs', decision 088), the latest finished first
-- (finished_at, then id, descending), after the cursor ($11 its finish time in microseconds
-- since the epoch, $3 its id), narrowed by $5–$10 (list_jobs_filter). Two walks of
-- job_history_unsucceeded (queue, state, finished_at), whatever Postgres knows of history
-- (decision 083): the first backward in the index's order finds the finish time of the page's
-- last job, stopping at $4 matches; the second reads the jobs from there to the cursor, at most
-- $4 and the rest of the last job's completion (whose jobs share a finish time), and orders them
-- by time and id. finished_us is the cursor's time part.
with after as (
  select timestamptz 'epoch' + $11::bigint * interval '1 microsecond' as at
),
-- The queue's jobs in the state, after the cursor and through the filters: not materialized,
-- so that each walk below reads the index with these conditions instead of a set made first.
matching as not materialized (
  select *
  from {{schema}}.job_history
  where queue = $1 and state = $2 and state <> 'succeeded'
    and finished_at <= coalesce((select at from after), 'infinity')
    and ($11::bigint is null or finished_at < (select at from after) or id < $3::bigint)
    and {{include list_jobs_filter}}
),
edge as (
  select finished_at from matching order by finished_at desc limit $4
)
select id, queue, handler, state, target, priority, attempt, max_attempts, tenant, dedupe_key, last_error,
       run_at, created_at, finished_at, origin,
       (extract(epoch from finished_at) * 1000000)::bigint::text as finished_us
from matching
where finished_at >= (select min(e.finished_at) from edge e)
order by finished_at desc, id desc
limit $4
