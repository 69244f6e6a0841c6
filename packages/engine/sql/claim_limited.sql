-- claim_limited: like claim, for a queue with a global limit and/or flow control per key
-- (decision 051), in one round trip: the function (migration 0018) locks the queue's row, reads
-- its limits and claims; it returns nothing when the queue is paused.
-- $1 queue, $2 handlers (text[]), $3 free slots of this worker, $4 lease ms, $5 worker id,
-- $6 running jobs per key value for keys no expression made (null: none), $7 and $8 the GCRA
-- interval (µs) and burst of starts per key value for those keys (null: no rate), $9 most keys
-- one claim walks.
-- Times as in claim.sql. The claim's row in job_leases (decision 087) is drawn its own id, since
-- the function draws a lease token a job; the worker reads it as the last column.
with claimed as (
  select * from {{schema}}.claim_limited($1, $2::text[], $3, $4, $5, $6, $7, $8, $9)
),
noted as (
  insert into {{schema}}.job_leases (id, worker_id, until, job_ids)
  select gen_random_uuid(), $5, min(c.lease_until), array_agg(c.id order by c.id)
  from claimed c
  having count(*) > 0
  returning id
)
select id, queue, handler, target, payload, priority, attempt, max_attempts, backoff, tenant, dedupe_key,
       lease_token, origin,
       (extract(epoch from lease_until) * 1000000)::bigint as lease_until_us,
       (extract(epoch from run_at) * 1000000)::bigint as run_at_us,
       (extract(epoch from created_at) * 1000000)::bigint as created_at_us,
       (select id from noted) as lease_id
from claimed
