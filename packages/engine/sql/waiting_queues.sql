-- waiting_queues: the queues that have unfinished, unclaimed jobs (due or not), found by walking
-- jobs_ready_flow one queue at a time (a loose index scan): the cost grows with the number of
-- queues, not with the backlog. Lets a worker serving every queue skip the empty ones.
with recursive q as (
  (select j.queue from {{schema}}.jobs j where j.state <> 'running' order by j.queue limit 1)
  union all
  select (select j.queue from {{schema}}.jobs j where j.state <> 'running' and j.queue > q.queue
          order by j.queue limit 1)
  from q
  where q.queue is not null
)
select queue from q where queue is not null
