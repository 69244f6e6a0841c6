-- retention_delete_succeeded: delete the succeeded jobs of queue $1 that finished more than $2
-- seconds ago, with their attempts, a job_finishes row at a time (decision 088): the oldest rows
-- first, those that start before the $3th job (at least one row, and at most $3 jobs and the
-- rest of the last row). Returns how many jobs went, and how many the rows taken named: fewer
-- than $3 only when no expired row is left unlocked.
with read as (
  -- At most $3 rows: each names at least one job. Locked, so that two runners never take the
  -- same row, and so that the ctid below stays the row's until this statement commits.
  select ctid as row, finished_at, jobs, job_ids
  from {{schema}}.job_finishes
  where queue = $1 and finished_at < now() - $2 * interval '1 second'
  order by finished_at
  limit $3
  for update skip locked
),
taken as (
  select row, job_ids, jobs
  from (select row, job_ids, jobs, sum(jobs) over (order by finished_at, row) - jobs as before from read) r
  where before < $3
),
spent as (
  -- By row address, as one array: a TID scan, however large the table.
  delete from {{schema}}.job_finishes f where f.ctid = any(array(select row from taken))
),
gone as (
  -- By primary key, the ids as one array: Postgres reads history by index whatever it knows of
  -- its size. The queue and state checked as well, though a row names only such jobs
  -- (migration 0029's triggers keep it so): a row out of step could never take another queue's.
  delete from {{schema}}.job_history h
  where h.id = any(array(select x from taken t cross join lateral unnest(t.job_ids) as x))
    and h.queue = $1 and h.state = 'succeeded'
  returning h.id
),
tries as (
  delete from {{schema}}.attempts a using gone g where a.job_id = g.id
)
select (select count(*) from gone)::int as deleted, coalesce((select sum(jobs) from taken), 0)::int as named
