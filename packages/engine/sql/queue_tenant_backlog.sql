-- queue_tenant_backlog: the $2 tenants of queue $1 with the most unfinished jobs, with those
-- ready, scheduled and running (jobs without a tenant as one row, tenant null). Reads the
-- queue's unfinished jobs only (jobs_ready_tenant, jobs_running), never history.
select tenant,
       count(*) filter (where state <> 'running' and run_at <= now())::int as available,
       count(*) filter (where state <> 'running' and run_at > now())::int as scheduled,
       count(*) filter (where state = 'running')::int as running,
       count(*)::int as total
from {{schema}}.jobs
where queue = $1
group by tenant
order by count(*) desc, tenant nulls first
limit $2
