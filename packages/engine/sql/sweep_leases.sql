-- sweep_leases: take back the jobs of claims whose lease ran out (a crashed or frozen worker),
-- up to $1 jobs from up to $2 job_leases rows (decision 087). A row's time is up when the
-- earliest lease of its jobs could have lapsed; the job's own lease_until decides, as a
-- heartbeat extends it and not the row. A job with attempts left becomes available at once; one
-- without goes to history as 'dead'. A row naming no job still running is deleted; the rest
-- wait for the earliest lease of their jobs still running (a job claimed again since, under
-- another lease, is waited for with its new one).
-- SKIP LOCKED lets every process sweep without blocking the others.
with due as (
  select l.id, l.job_ids
  from {{schema}}.job_leases l
  where l.until < now()
  order by l.until
  limit $2
  for update skip locked
),
expired as (
  select j.*
  from {{schema}}.jobs j
  where j.id = any(array(select unnest(d.job_ids) from due d))
    and j.state = 'running' and j.lease_until < now()
  order by j.lease_until
  limit $1
  for update skip locked
),
{{include lease_take_back}},
{{include to_history}},
-- What each row still names: its jobs running and not taken back now (a job skipped as locked,
-- or past the batch, is still running with a lapsed lease: its row stays due).
kept as (
  select d.id, coalesce(min(j.lease_until), now()) as until, array_agg(j.id order by j.id) as job_ids
  from due d
  cross join lateral unnest(d.job_ids) as u(id)
  join {{schema}}.jobs j on j.id = u.id
  where j.state = 'running' and not exists (select 1 from expired e where e.id = j.id)
  group by d.id
),
waits as (
  update {{schema}}.job_leases l set until = k.until, job_ids = k.job_ids
  from kept k
  where l.id = k.id
  returning l.id
),
forgot as (
  delete from {{schema}}.job_leases l
  using due d
  where l.id = d.id and not exists (select 1 from kept k where k.id = d.id)
  returning l.id
)
select (select count(*) from requeued)::int as requeued,
       (select count(*) from ended)::int as dead,
       (select count(*) from wake)::int as queues_woken,
       (select count(*) from waits)::int as leases_waiting,
       (select count(*) from forgot)::int as leases_forgotten
