-- schedule_queued: the runs of schedules $1 waiting for the previous run to finish (overlap
-- policy 'queue'), oldest first per tenant.
select schedule, tenant, fire_time, kind
from {{schema}}.schedule_runs
where outcome = 'queued' and schedule = any($1::text[])
order by schedule, tenant, fire_time
