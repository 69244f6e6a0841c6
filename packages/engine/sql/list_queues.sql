-- list_queues: every queue with its settings, job counts per state and the age in seconds of
-- its oldest ready job. Finished counts are the sums of job_counts' shards, kept by job_history's
-- triggers (decision 050): exact, shrinking with retention, and not a count of history.
with live as (
  select queue,
         count(*) filter (where state <> 'running' and run_at > now()) as scheduled,
         count(*) filter (where state <> 'running' and run_at <= now()) as available,
         count(*) filter (where state = 'running') as running,
         extract(epoch from now() - min(run_at) filter (where state <> 'running' and run_at <= now())) as oldest_ready_age
  from {{schema}}.jobs
  group by queue
),
done as (
  select queue,
         sum(jobs) filter (where state = 'succeeded') as succeeded,
         sum(jobs) filter (where state = 'dead') as dead,
         sum(jobs) filter (where state = 'cancelled') as cancelled
  from {{schema}}.job_counts
  group by queue
)
select q.*,
       coalesce(l.scheduled, 0)::int as scheduled, coalesce(l.available, 0)::int as available,
       coalesce(l.running, 0)::int as running, coalesce(d.succeeded, 0)::int as succeeded,
       coalesce(d.dead, 0)::int as dead, coalesce(d.cancelled, 0)::int as cancelled,
       coalesce(l.oldest_ready_age, 0)::float8 as oldest_ready_age
from {{schema}}.queues q
left join live l on l.queue = q.name
left join done d on d.queue = q.name
order by q.name
