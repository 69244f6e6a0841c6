-- keel:additive — a new table, and an index dropped that only the lease sweep read; older code runs unchanged (its sweep then reads jobs without an index until it is replaced, and the new sweep's full scan takes back what its claims leave)
-- 0028 (decision 087): a claim's lease recorded once, in job_leases, instead of once a job in
-- jobs_lease. Every claimed job's new row version entered jobs_lease (lease_until, where
-- running), an index only the lease sweep read: about a tenth of a claim's cost in Postgres. A
-- claim now writes one job_leases row naming its jobs; the sweep reads the rows whose time is up
-- and takes back those of their jobs that are still running with a lapsed lease (the job's own
-- lease_until decides, as before). A worker deletes a row once every job of it has ended; a row
-- whose jobs run on, their leases extended by heartbeats, waits for the earliest of them.
create table job_leases (
  -- The claim's lease token (a limited claim, which draws one a job, draws one for the row).
  id uuid primary key,
  worker_id text,
  -- No later than the lease of any job of the row still running.
  until timestamptz not null,
  job_ids bigint[] not null
);

create index job_leases_until on job_leases (until);

-- A claim of 2,000 names 16 KB of ids, stored out of line whatever is done: without trying to
-- compress them first (pglz gains little on ascending bigints and took 1.1 ms a row here,
-- against 0.2 ms stored as they are).
alter table job_leases alter column job_ids set storage external;

-- Jobs running now, claimed before this migration: a row per lease token, so the sweep finds
-- them when their leases lapse.
insert into job_leases (id, worker_id, until, job_ids)
select lease_token, min(worker_id), min(lease_until), array_agg(id order by id)
from jobs
where state = 'running' and lease_token is not null and lease_until is not null
group by lease_token;

drop index jobs_lease;
