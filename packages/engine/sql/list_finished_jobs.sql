-- list_finished_jobs: up to $4 jobs of queue $1 that ended in state $2 (dead or cancelled; the
-- succeeded ones are list_succeeded_jobs', decision 088), the latest finished first
-- (finished_at, then id, descending), after the cursor ($11 its finish time in microseconds
-- since the epoch, $3 its id), narrowed by $5–$10 (list_jobs_filter). Two walks of
-- job_history_unsucceeded (queue, state, finished_at), whatever Postgres knows of history
-- (decision 083; finish_order_page).
with after as (
  select timestamptz 'epoch' + $11::bigint * interval '1 microsecond' as at
),
-- The queue's jobs in the state, after the cursor and through the filters: not materialized,
-- so that each walk below reads the index with these conditions instead of a set made first.
matching as not materialized (
  select finished_at as finish, *
  from {{schema}}.job_history
  where queue = $1 and state = $2 and state <> 'succeeded'
    and finished_at <= coalesce((select at from after), 'infinity')
    and ($11::bigint is null or finished_at < (select at from after) or id < $3::bigint)
    and {{include list_jobs_filter}}
),
{{include finish_order_page}}
