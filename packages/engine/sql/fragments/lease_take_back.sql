-- lease_take_back: the CTEs of the lease sweeps (sweep_leases, sweep_leases_scan) that take back
-- the jobs of an `expired` CTE before them (jobs rows whose lease lapsed, locked): a job with
-- attempts left becomes available at once, one without is ended as 'dead'; each lapsed try is
-- recorded as 'lease_expired'; the queues given jobs back are notified. Followed by the
-- to_history include. Not a statement.
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
wake as (
  select pg_notify({{channel}}, queue) from (select distinct queue from requeued) q
)
