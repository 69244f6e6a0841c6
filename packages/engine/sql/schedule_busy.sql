-- schedule_busy: the (schedule, tenant) pairs among schedules $1 with an unfinished job.
-- Tenant '' stands for a schedule without fan-out.
select distinct origin ->> 'schedule' as schedule, coalesce(tenant, '') as tenant
from {{schema}}.jobs
where origin ? 'schedule' and (origin ->> 'schedule') = any($1::text[])
