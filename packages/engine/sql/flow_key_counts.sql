-- flow_key_counts: per queue whose jobs carry flow keys, how many distinct keys hold unclaimed
-- jobs and how many hold running ones (metrics: counts only, never key values).
select queue,
       count(distinct flow_key) filter (where state <> 'running')::int as waiting,
       count(distinct flow_key) filter (where state = 'running')::int as running
from {{schema}}.jobs
where flow_key is not null
group by queue
