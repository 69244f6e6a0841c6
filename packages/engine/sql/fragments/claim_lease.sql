-- claim_lease: the CTEs and the update that lease the jobs of the picked CTE (the tuple ids of
-- the rows it locked) for $4 milliseconds to worker $5, and return them as the worker reads
-- them; ends claim and claim_after. Not a statement. One lease token for the claim's jobs, drawn
-- once: a token is checked with its job's id, and 1.5 µs a job went to drawing one each
-- (decision 075).
lease as (
  select gen_random_uuid() as token, now() + $4 * interval '1 millisecond' as until
),
-- The claim's row in job_leases, naming the jobs it locked (read where they are, in the
-- snapshot's versions): what the lease sweep reads, instead of an index entry a job (decision 087).
noted as (
  insert into {{schema}}.job_leases (id, worker_id, until, job_ids)
  select l.token, $5, l.until, array(select k.id from {{schema}}.jobs k where k.ctid = any(array(select tid from picked)))
  from lease l
  where exists (select 1 from picked)
)
update {{schema}}.jobs j
set state = 'running', attempt = j.attempt + 1, lease_token = (select token from lease),
    lease_until = (select until from lease), worker_id = $5, started_at = now(),
    -- A claimed job is no longer the pending one of its debounce key (decision 052).
    debounce_key = null, debounce_until = null
-- A TID scan: the locked rows are read where they are, not looked up again by primary key
-- (decision 074).
where j.ctid = any(array(select tid from picked))
-- Times as microseconds since the epoch: the worker makes Dates of them for a fraction of what
-- parsing timestamptz text costs (three per job).
returning j.id, j.queue, j.handler, j.target, j.payload, j.priority, j.attempt, j.max_attempts, j.backoff,
          j.tenant, j.dedupe_key, j.lease_token, j.origin,
          -- lease_until as set above (now() is the transaction's time, the same for every job of
          -- the claim): computed once, not converted per row.
          (select (extract(epoch from now() + $4 * interval '1 millisecond') * 1000000)::bigint) as lease_until_us,
          (extract(epoch from j.run_at) * 1000000)::bigint as run_at_us,
          (extract(epoch from j.created_at) * 1000000)::bigint as created_at_us
