-- queue_settings: limits and pause state of queues $1 (text[]; null for every queue), for a
-- worker's claim planning.
-- A queue whose 'process:<queue>' switch is off counts as paused.
select q.name, q.concurrency, q.tenant_concurrency,
       q.paused or exists (
         select 1 from {{schema}}.switches s where s.name = 'process:' || q.name and not s.enabled) as paused
from {{schema}}.queues q
where $1::text[] is null or q.name = any($1::text[])
