-- queue_overview: every queue with its settings, live counts, finished counts each capped at $1
-- (an index-only walk of job_history_retention that stops at $1 rows: O(queues × cap), never
-- O(history)), the finished counts of the last hour (capped the same way) and the oldest ready
-- age. For the console's pages; list_queues keeps exact counts for the API.
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
       (select count(*) from (select 1 from {{schema}}.job_history h
         where h.queue = q.name and h.state = 'succeeded' limit $1) c)::int as succeeded,
       (select count(*) from (select 1 from {{schema}}.job_history h
         where h.queue = q.name and h.state = 'dead' limit $1) c)::int as dead,
       (select count(*) from (select 1 from {{schema}}.job_history h
         where h.queue = q.name and h.state = 'cancelled' limit $1) c)::int as cancelled,
       (select count(*) from (select 1 from {{schema}}.job_history h
         where h.queue = q.name and h.state = 'succeeded' and h.finished_at > now() - interval '1 hour'
         limit $1) c)::int as succeeded_last_hour,
       (select count(*) from (select 1 from {{schema}}.job_history h
         where h.queue = q.name and h.state = 'dead' and h.finished_at > now() - interval '1 hour'
         limit $1) c)::int as dead_last_hour,
       coalesce(l.oldest_ready_age, 0)::float8 as oldest_ready_age
from {{schema}}.queues q
left join live l on l.queue = q.name
order by q.name
