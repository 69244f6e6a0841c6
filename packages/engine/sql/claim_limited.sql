-- claim_limited: like claim, for a queue with a global limit $6 and/or a per-tenant limit $7
-- (either may be null). Must run after lock_queue in the same transaction.
-- $1 queue, $2 handlers (text[]), $3 free slots of this worker, $4 lease ms, $5 worker id.
-- Each tenant gets at most its remaining allowance; the distinct tenants are walked through
-- the index (a loose index scan), so one tenant's deep backlog cannot hide the others.
with recursive running as (
  select tenant, count(*)::int as n
  from {{schema}}.jobs
  where queue = $1 and state = 'running'
  group by tenant
),
budget as (
  select greatest(0, least($3::int, coalesce($6::int - (select coalesce(sum(n), 0)::int from running), $3::int))) as n
),
tenants as (
  (select j.tenant from {{schema}}.jobs j
   where j.queue = $1 and j.state <> 'running' and j.tenant is not null
   order by j.tenant limit 1)
  union all
  select (select j.tenant from {{schema}}.jobs j
          where j.queue = $1 and j.state <> 'running' and j.tenant > t.tenant
          order by j.tenant limit 1)
  from tenants t
  where t.tenant is not null
),
untenanted as (
  select j.id, j.priority, j.run_at
  from {{schema}}.jobs j
  where j.queue = $1 and j.tenant is null and j.state <> 'running' and j.run_at <= now()
    and j.handler = any($2::text[])
  order by j.priority desc, j.run_at, j.id
  limit (select n from budget)
  for update of j skip locked
),
tenanted as (
  select c.id, c.priority, c.run_at
  from tenants t
  cross join lateral (
    select j.id, j.priority, j.run_at
    from {{schema}}.jobs j
    where j.queue = $1 and j.tenant = t.tenant and j.state <> 'running' and j.run_at <= now()
      and j.handler = any($2::text[])
    order by j.priority desc, j.run_at, j.id
    limit greatest(0, least(
      (select n from budget),
      coalesce($7::int - coalesce((select r.n from running r where r.tenant = t.tenant), 0), (select n from budget))))
    for update of j skip locked
  ) c
  where t.tenant is not null
),
picked as (
  select id from (select * from untenanted union all select * from tenanted) candidates
  order by priority desc, run_at, id
  limit (select n from budget)
)
update {{schema}}.jobs j
set state = 'running', attempt = j.attempt + 1, lease_token = gen_random_uuid(),
    lease_until = now() + $4 * interval '1 millisecond', worker_id = $5, started_at = now()
-- = any(array(...)) makes the planner look rows up by primary key instead of joining.
where j.id = any(array(select id from picked))
returning j.id, j.queue, j.handler, j.target, j.payload, j.priority, j.attempt, j.max_attempts, j.backoff,
          j.tenant, j.dedupe_key, j.lease_token, j.lease_until, j.run_at, j.created_at, j.origin
