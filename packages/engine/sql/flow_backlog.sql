-- flow_backlog: queue $1's flow keys with the most unclaimed jobs, $2 of them, with their
-- waiting (due or not) and running counts, and the number of keys in all (on every row).
-- Reads every job of the queue that has a key: an operator's look, not a hot path.
with per_key as (
  select flow_key as key,
         count(*) filter (where state <> 'running')::int as waiting,
         count(*) filter (where state = 'running')::int as running
  from {{schema}}.jobs
  where queue = $1 and flow_key is not null
  group by flow_key
)
select key, waiting, running, (select count(*) from per_key)::int as keys
from per_key
order by waiting desc, running desc, key
limit $2
