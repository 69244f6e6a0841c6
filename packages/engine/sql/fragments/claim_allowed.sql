-- claim_allowed: the allowed CTE of claim and claim_after: whether queue $1 may be claimed from
-- by these statements (not paused, no concurrency limits or flow control: the guard makes a
-- stale settings cache return nothing rather than exceed a limit), and no process switch is off.
-- Not a statement.
allowed as (
  select exists (
      select 1 from {{schema}}.queues q
      where q.name = $1 and not q.paused and q.concurrency is null and q.tenant_concurrency is null
        and q.flow_key is null and not q.flow_jobs)
    and not exists (select 1 from {{schema}}.switches s where s.name = 'process:' || $1 and not s.enabled) as ok
)
