-- sweep_leases_scan: take back up to $1 running jobs whose lease expired, found by reading jobs
-- itself, not job_leases: the lease sweep's safety net, run once across replicas every ten
-- minutes (decision 087). It finds what no job_leases row names: jobs claimed by a Keel older
-- than migration 0028 during a rolling deploy. jobs has no index on lease_until: a sequential
-- scan. SKIP LOCKED lets it run beside the sweeps and the workers.
with expired as (
  select j.*
  from {{schema}}.jobs j
  where j.state = 'running' and j.lease_until < now()
  order by j.lease_until
  limit $1
  for update skip locked
),
{{include lease_take_back}},
{{include to_history}}
select (select count(*) from requeued)::int as requeued,
       (select count(*) from ended)::int as dead,
       (select count(*) from wake)::int as queues_woken
