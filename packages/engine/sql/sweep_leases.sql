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
ended as (
  delete from {{schema}}.jobs j
  using expired e join lapse l on l.id = e.id
  where j.id = e.id and e.attempt >= e.max_attempts
  returning j.*, 'dead'::text as final_state, l.error as final_error,
            'lease_expired'::text as try_outcome, null::int as try_status, null::int as try_latency,
            null::text as try_body
),
tried as (
  select e.id, e.attempt, e.queue, e.worker_id, 'lease_expired' as outcome, l.error, e.started_at,
         null::int as status, null::int as latency, null::text as body
  from expired e join lapse l on l.id = e.id
  where e.attempt < e.max_attempts
),
{{include to_history}},
wake as (
  select pg_notify({{channel}}, queue) from (select distinct queue from requeued) q
)
select (select count(*) from requeued)::int as requeued,
       (select count(*) from ended)::int as dead,
       (select count(*) from wake)::int as queues_woken
