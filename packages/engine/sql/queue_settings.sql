-- queue_settings: limits, pause state and HTTP attempt timeout of queues $1 (text[]; null for
-- every queue), for a worker's claim planning and the deliverer's timeouts.
-- A queue whose 'process:<queue>' switch is off counts as paused. flow: the queue has flow
-- control (a key expression, or jobs that carried flow keys of their own).
select q.name, q.concurrency, q.tenant_concurrency, q.delivery_timeout_ms,
       q.flow_key is not null or q.flow_jobs as flow, q.flow_rate_limit, q.flow_rate_window_seconds, q.flow_rate_burst,
       q.paused or exists (
         select 1 from {{schema}}.switches s where s.name = 'process:' || q.name and not s.enabled) as paused
from {{schema}}.queues q
where $1::text[] is null or q.name = any($1::text[])
