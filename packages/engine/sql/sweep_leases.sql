-- sweep_leases: take back up to $1 jobs whose lease expired (a crashed or frozen worker).
-- A job with attempts left becomes available at once; one without goes to history as 'dead'.
-- SKIP LOCKED lets every process sweep without blocking the others.
with expired as (
  select j.*
  from {{schema}}.jobs j
  where j.state = 'running' and j.lease_until < now()
  order by j.lease_until
  limit $1
  for update skip locked
),
lapse as (
  select e.id, jsonb_build_object(
           'code', 'lease_expired',
           'message', 'Worker ' || coalesce(e.worker_id, 'unknown') || ' stopped extending its lease; the job was taken back.'
         ) as error
  from expired e
),
requeued as (
  update {{schema}}.jobs j
  set state = 'available', lease_token = null, lease_until = null, last_error = l.error
  from expired e join lapse l on l.id = e.id
  where j.id = e.id and e.attempt < e.max_attempts
  returning j.id, j.queue
),
dead as (
  delete from {{schema}}.jobs j
  using expired e
  where j.id = e.id and e.attempt >= e.max_attempts
  returning j.*
),
history as (
  insert into {{schema}}.job_history
    (id, queue, handler, state, target, payload, priority, attempt, max_attempts, backoff, dedupe_key, tenant,
     last_error, run_at, created_at, finished_at, origin)
  select d.id, d.queue, d.handler, 'dead', d.target, d.payload, d.priority, d.attempt, d.max_attempts, d.backoff,
         d.dedupe_key, d.tenant, l.error, d.run_at, d.created_at, now(), d.origin
  from dead d join lapse l on l.id = d.id
),
tries as (
  insert into {{schema}}.attempts (job_id, attempt, queue, worker_id, outcome, error, started_at, finished_at)
  select e.id, e.attempt, e.queue, e.worker_id, 'lease_expired', l.error, e.started_at, now()
  from expired e join lapse l on l.id = e.id
),
wake as (
  select pg_notify({{channel}}, queue) from (select distinct queue from requeued) q
)
select (select count(*) from requeued)::int as requeued,
       (select count(*) from dead)::int as dead,
       (select count(*) from wake)::int as queues_woken
