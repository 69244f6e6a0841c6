-- queue_overview: every queue with its settings, live counts and the age in seconds of its oldest
-- ready job; finished counts come from queue_history_counts, one queue at a time (decision 040:
-- one statement over every queue was costed high enough for JIT, which took 600 ms to compile).
with live as (
  select queue,
         count(*) filter (where state <> 'running' and run_at > now()) as scheduled,
         count(*) filter (where state <> 'running' and run_at <= now()) as available,
         count(*) filter (where state = 'running') as running,
         extract(epoch from now() - min(run_at) filter (where state <> 'running' and run_at <= now())) as oldest_ready_age
  from {{schema}}.jobs
  group by queue
)
select q.*,
       coalesce(l.scheduled, 0)::int as scheduled, coalesce(l.available, 0)::int as available,
       coalesce(l.running, 0)::int as running,
       coalesce(l.oldest_ready_age, 0)::float8 as oldest_ready_age
from {{schema}}.queues q
left join live l on l.queue = q.name
order by q.name
