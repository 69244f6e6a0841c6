-- list_succeeded_jobs: list_finished_jobs for state $2 = 'succeeded', whose jobs are found
-- through their job_finishes rows (decision 088) instead of an index of history: up to $4 jobs
-- of queue $1, the latest finished first (finished_at, then id, descending), after the cursor
-- ($11 its finish time in microseconds since the epoch, $3 its id), narrowed by $5–$10
-- (list_jobs_filter). The rows are walked backward in the order of job_finishes_queue (queue,
-- finished_at), each row's jobs read by primary key, with list_finished_jobs' two walks
-- (finish_order_page).
with after as (
  select timestamptz 'epoch' + $11::bigint * interval '1 microsecond' as at
),
matching as not materialized (
  -- Ordered by the finishes row's time, which the index gives; each job read by primary key, in
  -- a lateral subquery of one row (a job has one history row), which Postgres cannot turn into
  -- a join that reads history by other means. The history row's own time is the same (migration
  -- 0029's triggers keep it so); a join on it would let Postgres match rows by time, reading
  -- history without an index.
  select f.finished_at as finish, h.*
  from {{schema}}.job_finishes f
  cross join lateral unnest(f.job_ids) as u(id)
  cross join lateral (
    select * from {{schema}}.job_history j
    where j.id = u.id and j.queue = $1 and j.state = 'succeeded'
    limit 1
  ) h
  where f.queue = $1 and $2::text = 'succeeded'
    and f.finished_at <= coalesce((select at from after), 'infinity')
    and ($11::bigint is null or f.finished_at < (select at from after) or h.id < $3::bigint)
    and {{include list_jobs_filter}}
),
{{include finish_order_page}}
