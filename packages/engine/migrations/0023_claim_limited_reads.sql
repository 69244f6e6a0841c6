-- keel:additive — replaces claim_limited with the same signature and results; older code calls it unchanged
-- 0023 (decisions 068 and 069): what a claim from a limited queue reads.
-- - Its search for the queue's unkeyed jobs goes through jobs_ready_flow, whose entries for
--   (queue, no key) are exactly those jobs, in the order the claim takes them (decision 068).
--   0018 ordered them as jobs_ready does; where most of jobs has no key (most queues have none),
--   Postgres chose jobs_ready and read every keyed job of the queue on each claim: 20,034 index
--   entries for a claim of one job from a queue of 20,000.
-- - Due jobs are read priority by priority, so each index scan ends at the first job not yet due
--   (decision 069). Ordered by priority then time, 0018's scans could not stop there: a queue or
--   key with delayed jobs had all of them read on every claim that found fewer due jobs than it
--   could take (4–6 ms of Postgres CPU per claim at 80,000 delayed jobs, every claim).
-- - It never JIT-compiles.
-- Everything else is 0018's function as it was.
create or replace function claim_limited(p_queue text, p_handlers text[], p_limit integer, p_lease_ms bigint,
                              p_worker_id text, p_default_key_concurrency integer,
                              p_default_key_interval_us bigint, p_default_key_burst integer, p_walk integer)
returns table (id bigint, queue text, handler text, target jsonb, payload jsonb, priority integer,
               attempt integer, max_attempts integer, backoff jsonb, tenant text, dedupe_key text,
               lease_token uuid, lease_until timestamptz, run_at timestamptz, created_at timestamptz,
               origin jsonb)
language plpgsql
set search_path from current
set enable_seqscan = off
set enable_bitmapscan = off
set plan_cache_mode = force_generic_plan
-- Never compiled: JIT costs tens of milliseconds, and a claim's estimates can pass jit_above_cost
-- though it reads a few rows (decision 069).
set jit = off
as $$
#variable_conflict use_column
declare
  v_concurrency integer;
  v_flow_key text;
  v_flow_concurrency integer;
  v_rate_limit integer;
  v_rate_window integer;
  v_rate_burst integer;
  v_paused boolean;
  v_key_concurrency integer;
  v_interval_us bigint;
  v_burst integer;
begin
  -- Claims of a limited queue serialise here, so the running counts and rate states the claim
  -- reads are exact.
  select q.concurrency, q.flow_key, q.flow_concurrency, q.flow_rate_limit, q.flow_rate_window_seconds,
         q.flow_rate_burst,
         q.paused or exists (select 1 from switches s where s.name = 'process:' || p_queue and not s.enabled)
    into v_concurrency, v_flow_key, v_flow_concurrency, v_rate_limit, v_rate_window, v_rate_burst, v_paused
  from queues q
  where q.name = p_queue
  for no key update;
  if not found or v_paused then
    return;
  end if;
  v_key_concurrency := coalesce(v_flow_concurrency, case when v_flow_key is null then p_default_key_concurrency end);
  -- The rate per key value as GCRA parameters, as flowRateOf (packages/engine/src/queue/flow.ts)
  -- turns them: interval = window / limit in microseconds, rounded up; burst 2 by default.
  if v_rate_limit is not null and v_rate_window is not null then
    v_interval_us := ceil(v_rate_window * 1000000::numeric / v_rate_limit)::bigint;
    v_burst := coalesce(v_rate_burst, 2);
  elsif v_flow_key is null and p_default_key_interval_us is not null then
    v_interval_us := p_default_key_interval_us;
    v_burst := coalesce(p_default_key_burst, 2);
  end if;

  return query
  with recursive clock as materialized (
    -- One instant for the rate arithmetic and started_at; clock_timestamp, not the transaction's
    -- start, so a start is never recorded before the completion that freed its slot.
    select clock_timestamp() as now
  ),
  running as (
    select flow_key, count(*)::int as n
    from jobs
    where queue = p_queue and state = 'running'
    group by flow_key
  ),
  budget as (
    select greatest(0, least(p_limit, coalesce(v_concurrency - (select coalesce(sum(n), 0)::int from running), p_limit))) as n
  ),
  cursor as (
    select q.flow_cursor as k from queues q where q.name = p_queue
  ),
  -- Keys after the cursor; the head job (first by priority) gives the key's own limit, and is the
  -- key's first candidate when it is due and has one of the worker's handlers (ready).
  walk_a(key, lim, depth, head, head_priority, head_run_at, ready) as (
    (select j.flow_key, j.flow_concurrency, 1, j.id, j.priority, j.run_at,
            j.run_at <= (select now from clock) and j.handler = any(p_handlers)
     from jobs j
     where j.queue = p_queue and j.state <> 'running' and j.flow_key is not null
       -- '' is below every key (keys have 1–255 characters); an OR here would scan from the start.
       and j.flow_key > coalesce((select k from cursor), '')
     order by j.flow_key, j.priority desc, j.run_at, j.id
     limit 1)
    union all
    select n.flow_key, n.flow_concurrency, w.depth + 1, n.id, n.priority, n.run_at,
           n.run_at <= (select now from clock) and n.handler = any(p_handlers)
    from walk_a w
    cross join lateral (
      select j.flow_key, j.flow_concurrency, j.id, j.priority, j.run_at, j.handler
      from jobs j
      where j.queue = p_queue and j.state <> 'running' and j.flow_key > w.key
      order by j.flow_key, j.priority desc, j.run_at, j.id
      limit 1
    ) n
    where w.depth < p_walk
  ),
  -- Then from the first key up to the cursor, while the walk has room.
  walk_b(key, lim, depth, head, head_priority, head_run_at, ready) as (
    (select j.flow_key, j.flow_concurrency, (select count(*) from walk_a)::int + 1, j.id, j.priority, j.run_at,
            j.run_at <= (select now from clock) and j.handler = any(p_handlers)
     from jobs j
     where j.queue = p_queue and j.state <> 'running' and j.flow_key is not null
       and j.flow_key <= (select k from cursor)
       and (select count(*) from walk_a) < p_walk
     order by j.flow_key, j.priority desc, j.run_at, j.id
     limit 1)
    union all
    select n.flow_key, n.flow_concurrency, w.depth + 1, n.id, n.priority, n.run_at,
           n.run_at <= (select now from clock) and n.handler = any(p_handlers)
    from walk_b w
    cross join lateral (
      select j.flow_key, j.flow_concurrency, j.id, j.priority, j.run_at, j.handler
      from jobs j
      where j.queue = p_queue and j.state <> 'running' and j.flow_key > w.key and j.flow_key <= (select k from cursor)
      order by j.flow_key, j.priority desc, j.run_at, j.id
      limit 1
    ) n
    where w.depth < p_walk
  ),
  keys as (
    select * from walk_a union all select * from walk_b
  ),
  allowance as (
    select k.key, k.depth, k.head, k.head_priority, k.head_run_at, k.ready, greatest(0, least(
      (select n from budget),
      coalesce(coalesce(k.lim, v_key_concurrency) - coalesce(r.n, 0), (select n from budget)),
      case when v_interval_us is null then (select n from budget)
        else floor((v_interval_us * v_burst
                    - greatest(0, extract(epoch from (g.tat - (select now from clock))) * 1000000))
                   / v_interval_us)::int
      end)) as n
    from keys k
    left join running r on r.flow_key = k.key
    left join flow_rates g on v_interval_us is not null and g.queue = p_queue and g.key = k.key
  ),
  -- Each key's share of the batch: the batch spread over the keys that may take any.
  share as (
    select ceil((select n from budget)::numeric / greatest(1, count(*)))::int as n from allowance where n > 0
  ),
  keyed as (
    -- A key whose share is one job takes its head when ready: the walk read it already (one
    -- index probe per key instead of two when the batch is spread over many keys).
    select a.head as id, a.head_priority as priority, a.head_run_at as run_at, a.depth, 1::bigint as turn
    from allowance a
    where a.n > 0 and a.ready and least(a.n, (select n from share)) = 1
    union all
    select c.id, c.priority, c.run_at, a.depth,
           row_number() over (partition by a.key order by c.priority desc, c.run_at, c.id) as turn
    from allowance a
    cross join lateral (
      -- The key's priorities from its head's down, one index probe each. Within one priority the
      -- due jobs come first, so each scan ends at the first job not yet due instead of reading
      -- every delayed job of the key; the next priority is looked at only while the key is short
      -- of its share (decision 069).
      with recursive prio(p) as (
        select a.head_priority
        union all
        select (select j.priority
                from jobs j
                where j.queue = p_queue and j.flow_key = a.key and j.state <> 'running' and j.priority < prio.p
                order by j.flow_key, j.priority desc
                limit 1)
        from prio
        where prio.p is not null
      )
      select d.id, d.priority, d.run_at
      from prio
      cross join lateral (
        select j.id, j.priority, j.run_at
        from jobs j
        where j.queue = p_queue and j.flow_key = a.key and j.state <> 'running' and j.priority = prio.p
          and j.run_at <= (select now from clock) and j.handler = any(p_handlers)
        order by j.run_at, j.id
        limit least(a.n, (select n from share))
      ) d
      -- Its share of the batch, not its whole allowance: locking 10 rows of each of 400 keys to
      -- take 100 made the claim 5× slower. A key short of its share leaves the claim short.
      limit least(a.n, (select n from share))
    ) c
    where a.n > 0 and not (a.ready and least(a.n, (select n from share)) = 1)
  ),
  -- Jobs without a key take turns as one more key, limited only by the budget.
  unkeyed as (
    select u.id, u.priority, u.run_at, 0 as depth,
           row_number() over (order by u.priority desc, u.run_at, u.id) as turn
    from (
      -- As a key's, priority by priority (decision 069), from the queue's first unkeyed entry.
      -- flow_key leads each order, though it is null in every row here: the order is then
      -- jobs_ready_flow's, which holds only the queue's unkeyed entries together (decision 068).
      with recursive prio(p) as (
        (select j.priority
         from jobs j
         where j.queue = p_queue and j.flow_key is null and j.state <> 'running'
         order by j.flow_key, j.priority desc
         limit 1)
        union all
        select (select j.priority
                from jobs j
                where j.queue = p_queue and j.flow_key is null and j.state <> 'running' and j.priority < prio.p
                order by j.flow_key, j.priority desc
                limit 1)
        from prio
        where prio.p is not null
      )
      select d.id, d.priority, d.run_at
      from prio
      cross join lateral (
        select j.id, j.priority, j.run_at
        from jobs j
        where j.queue = p_queue and j.flow_key is null and j.state <> 'running' and j.priority = prio.p
          and j.run_at <= (select now from clock) and j.handler = any(p_handlers)
        order by j.flow_key, j.run_at, j.id
        limit (select n from budget)
      ) d
      limit (select n from budget)
    ) u
  ),
  picked as (
    select id, depth from (select * from keyed union all select * from unkeyed) candidates
    order by turn, priority desc, depth, run_at, id
    limit (select n from budget)
  ),
  claimed as (
    update jobs j
    set state = 'running', attempt = j.attempt + 1, lease_token = gen_random_uuid(),
        lease_until = now() + p_lease_ms * interval '1 millisecond', worker_id = p_worker_id, started_at = (select now from clock),
        -- A claimed job is no longer the pending one of its singleton or debounce key.
        singleton_key = null, debounce_key = null, debounce_until = null
    -- = any(array(...)) makes the planner look rows up by primary key instead of joining. The
    -- candidates were read without locks: claims of this queue serialise on its row (above),
    -- so no other claim takes them; a job cancelled meanwhile is re-checked here and left out.
    where j.id = any(array(select id from picked)) and j.state <> 'running'
    returning j.id, j.queue, j.handler, j.target, j.payload, j.priority, j.attempt, j.max_attempts, j.backoff,
              j.tenant, j.dedupe_key, j.lease_token, j.lease_until, j.run_at, j.created_at, j.origin, j.flow_key
  ),
  -- Each key's GCRA moves n intervals for its n starts.
  rated as (
    insert into flow_rates as g (queue, key, tat)
    select p_queue, c.flow_key, (select now from clock) + count(*) * v_interval_us * interval '1 microsecond'
    from claimed c
    where v_interval_us is not null and c.flow_key is not null
    group by c.flow_key
    on conflict (queue, key) do update
    set tat = greatest(g.tat, (select now from clock)) + (excluded.tat - (select now from clock))
  ),
  -- The next claim starts after the last key that got a job (or the last walked, when none did).
  moved as (
    update queues q
    set flow_cursor = coalesce(
      (select k.key from keys k where k.depth = (select max(p.depth) from picked p where p.depth > 0)),
      (select k.key from keys k order by k.depth desc limit 1))
    where q.name = p_queue and exists (select 1 from keys)
  )
  select id, queue, handler, target, payload, priority, attempt, max_attempts, backoff, tenant, dedupe_key,
         lease_token, lease_until, run_at, created_at, origin
  from claimed
  ;
end
$$;
