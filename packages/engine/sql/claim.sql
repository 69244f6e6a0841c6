-- claim: lease up to $3 ready jobs of queue $1 whose handler is in $2 (text[]), highest priority
-- first, for $4 milliseconds to worker $5. SKIP LOCKED lets any number of workers claim at once
-- without waiting on each other (see claim_candidates in 0001). Only for queues without
-- concurrency limits or flow control: the guard makes a stale settings cache return nothing
-- rather than exceed a limit (limited queues use claim_limited). $6–$8: the worker's cursor, the
-- (priority, run_at in microseconds since the epoch, id) of the last job it claimed, or nulls to scan from the front (decision
-- 054: after the cursor, claims skip the entries of jobs claimed before it).
with allowed as (
  select exists (
      select 1 from {{schema}}.queues q
      where q.name = $1 and not q.paused and q.concurrency is null and q.tenant_concurrency is null
        and q.flow_key is null and not q.flow_jobs)
    and not exists (select 1 from {{schema}}.switches s where s.name = 'process:' || $1 and not s.enabled) as ok
),
picked as (
  select c.id
  from {{schema}}.claim_candidates($1, $2::text[], $3) as c(id)
  where $8::bigint is null and (select ok from allowed)
  union all
  select c.id
  from {{schema}}.claim_candidates_after($1, $2::text[], $3, $6::int,
         timestamptz 'epoch' + $7::bigint * interval '1 microsecond', $8::bigint) as c(id)
  where $8::bigint is not null and (select ok from allowed)
)
update {{schema}}.jobs j
set state = 'running', attempt = j.attempt + 1, lease_token = gen_random_uuid(),
    lease_until = now() + $4 * interval '1 millisecond', worker_id = $5, started_at = now(),
    -- A claimed job is no longer the pending one of its debounce key (decision 052).
    debounce_key = null, debounce_until = null
-- = any(array(...)) makes the planner look rows up by primary key instead of joining.
where j.id = any(array(select id from picked))
-- Times as microseconds since the epoch: the worker makes Dates of them for a fraction of what
-- parsing timestamptz text costs (three per job).
returning j.id, j.queue, j.handler, j.target, j.payload, j.priority, j.attempt, j.max_attempts, j.backoff,
          j.tenant, j.dedupe_key, j.lease_token, j.origin,
          (extract(epoch from j.lease_until) * 1000000)::bigint as lease_until_us,
          (extract(epoch from j.run_at) * 1000000)::bigint as run_at_us,
          (extract(epoch from j.created_at) * 1000000)::bigint as created_at_us
