-- failure_groups: the jobs that died in the last 7 days, of queue $1 or every queue, grouped by
-- queue and error fingerprint (error_shape, decision 050), with counts over the last hour, day
-- and week, newest group first. Reads at most $2 dead jobs per queue (newest first) through
-- job_history_retention, so a page costs the same on any history; `capped` says a queue's
-- window held more.
with recent as (
  select q.name as queue, h.last_error, h.finished_at, h.id,
         count(*) over (partition by q.name) as in_queue
  from {{schema}}.queues q
  cross join lateral (
    select h.last_error, h.finished_at, h.id from {{schema}}.job_history h
    where h.queue = q.name and h.state = 'dead' and h.finished_at > now() - interval '7 days'
    order by h.finished_at desc
    limit $2
  ) h
  where $1::text is null or q.name = $1
)
select queue, {{schema}}.error_fingerprint(last_error) as fingerprint,
       {{schema}}.error_shape(last_error) as shape,
       (array_agg(last_error ->> 'message' order by id desc))[1] as example,
       (array_agg(id order by id desc))[1]::text as example_id,
       count(*) filter (where finished_at > now() - interval '1 hour')::int as last_hour,
       count(*) filter (where finished_at > now() - interval '1 day')::int as last_day,
       count(*)::int as last_week,
       max(finished_at) as last_seen,
       bool_or(in_queue >= $2) as capped
from recent
group by queue, 2, 3
order by max(finished_at) desc
limit 200
