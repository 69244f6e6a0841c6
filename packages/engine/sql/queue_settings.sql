-- queue_settings: limits and pause state of queues $1 (text[]), for a worker's claim planning.
select name, concurrency, tenant_concurrency, paused
from {{schema}}.queues
where name = any($1::text[])
