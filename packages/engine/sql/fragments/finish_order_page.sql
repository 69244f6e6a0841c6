-- finish_order_page: the end of a list in finish order (list_finished_jobs,
-- list_succeeded_jobs; decision 083), written once. Expects a CTE before it, `matching`: the
-- candidate jobs (every job_history column) with their finish time as `finish`, in an order an
-- index gives. The first walk finds the finish time of the page's last job, stopping at $4
-- matches; the second reads the jobs from there to the cursor, at most $4 and the rest of the
-- last completion (whose jobs share a finish time), and orders them by time and id.
-- finished_us is the cursor's time part. Not a statement.
edge as (
  select finish from matching order by finish desc limit $4
)
select id, queue, handler, state, target, priority, attempt, max_attempts, tenant, dedupe_key, last_error,
       run_at, created_at, finished_at, origin,
       (extract(epoch from finished_at) * 1000000)::bigint::text as finished_us
from matching
where finish >= (select min(e.finish) from edge e)
order by finish desc, id desc
limit $4
