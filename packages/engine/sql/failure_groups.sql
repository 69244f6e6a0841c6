-- failure_groups: the jobs of queue $1 that died in the last 7 days, grouped by error fingerprint
-- (error_shape, decision 050), with counts over the last hour, day and week. Reads at most $2
-- dead jobs (newest first) through job_history_unsucceeded, so a page costs the same on any
-- history; `capped` says the week held more. One queue per statement, as queue_history_counts:
-- one statement over every queue was costed high enough for JIT (250 ms to compile).
with recent as (
  select {{schema}}.error_shape(h.last_error) as shape, h.last_error, h.finished_at, h.id
  from {{schema}}.job_history h
  where h.queue = $1 and h.state = 'dead' and h.state <> 'succeeded' and h.finished_at > now() - interval '7 days'
  order by h.finished_at desc
  limit $2
),
counted as (
  select count(*) as n from recent
)
select $1::text as queue, {{schema}}.shape_fingerprint(shape) as fingerprint, shape,
       (array_agg(last_error ->> 'message' order by id desc))[1] as example,
       (array_agg(id order by id desc))[1]::text as example_id,
       count(*) filter (where finished_at > now() - interval '1 hour')::int as last_hour,
       count(*) filter (where finished_at > now() - interval '1 day')::int as last_day,
       count(*)::int as last_week,
       max(finished_at) as last_seen,
       (select n from counted) >= $2 as capped
from recent
group by shape
