-- claim_limited: like claim, for a queue with a global limit and/or flow control per key
-- (decision 051). Must run after lock_queue in the same transaction: claims of the queue
-- serialise there, so the running counts and rate states read here are exact.
-- $1 queue, $2 handlers (text[]), $3 free slots of this worker, $4 lease ms, $5 worker id,
-- $6 global limit (null: none), $7 running jobs per key value (null: none; a job's own
-- flow_concurrency wins), $8 GCRA interval in microseconds per key value (null: no rate),
-- $9 GCRA burst, $10 most keys one claim walks.
-- The distinct keys with unclaimed jobs are walked through the index (a loose index scan),
-- starting after the queue's flow_cursor and wrapping around, so one key's deep backlog cannot
-- hide the others and the walk costs at most $10 index probes however many keys there are.
-- Each key gets at most its allowance: the concurrency left, and the starts its GCRA admits now
-- (the rate limiter's arithmetic, packages/protocol/src/ratelimit/gcra.ts `admits`: n starts fit
-- when max(tat, now) + n × interval − now ≤ burst × interval). Jobs are taken in turns across
-- keys: every key's first job, then every key's second, … (priority first within a turn).
with recursive clock as materialized (
  -- One instant for the rate arithmetic and started_at; clock_timestamp, not the transaction's
  -- start, so a start is never recorded before the completion that freed its slot.
  select clock_timestamp() as now
),
running as (
  select flow_key, count(*)::int as n
  from {{schema}}.jobs
  where queue = $1 and state = 'running'
  group by flow_key
),
budget as (
  select greatest(0, least($3::int, coalesce($6::int - (select coalesce(sum(n), 0)::int from running), $3::int))) as n
),
cursor as (
  select q.flow_cursor as k from {{schema}}.queues q where q.name = $1
),
-- Keys after the cursor; the head job (first by priority) gives the key's own limit.
walk_a(key, lim, depth) as (
  (select j.flow_key, j.flow_concurrency, 1
   from {{schema}}.jobs j
   where j.queue = $1 and j.state <> 'running' and j.flow_key is not null
     -- '' is below every key (keys have 1–255 characters); an OR here would scan from the start.
     and j.flow_key > coalesce((select k from cursor), '')
   order by j.flow_key, j.priority desc, j.run_at, j.id
   limit 1)
  union all
  select n.flow_key, n.flow_concurrency, w.depth + 1
  from walk_a w
  cross join lateral (
    select j.flow_key, j.flow_concurrency
    from {{schema}}.jobs j
    where j.queue = $1 and j.state <> 'running' and j.flow_key > w.key
    order by j.flow_key, j.priority desc, j.run_at, j.id
    limit 1
  ) n
  where w.depth < $10::int
),
-- Then from the first key up to the cursor, while the walk has room.
walk_b(key, lim, depth) as (
  (select j.flow_key, j.flow_concurrency, (select count(*) from walk_a)::int + 1
   from {{schema}}.jobs j
   where j.queue = $1 and j.state <> 'running' and j.flow_key is not null
     and j.flow_key <= (select k from cursor)
     and (select count(*) from walk_a) < $10::int
   order by j.flow_key, j.priority desc, j.run_at, j.id
   limit 1)
  union all
  select n.flow_key, n.flow_concurrency, w.depth + 1
  from walk_b w
  cross join lateral (
    select j.flow_key, j.flow_concurrency
    from {{schema}}.jobs j
    where j.queue = $1 and j.state <> 'running' and j.flow_key > w.key and j.flow_key <= (select k from cursor)
    order by j.flow_key, j.priority desc, j.run_at, j.id
    limit 1
  ) n
  where w.depth < $10::int
),
keys as (
  select key, lim, depth from walk_a union all select key, lim, depth from walk_b
),
allowance as (
  select k.key, k.depth, greatest(0, least(
    (select n from budget),
    coalesce(coalesce(k.lim, $7::int) - coalesce(r.n, 0), (select n from budget)),
    case when $8::bigint is null then (select n from budget)
      else floor(($8::bigint * $9::int
                  - greatest(0, extract(epoch from (g.tat - (select now from clock))) * 1000000))
                 / $8::bigint)::int
    end)) as n
  from keys k
  left join running r on r.flow_key = k.key
  left join {{schema}}.flow_rates g on $8::bigint is not null and g.queue = $1 and g.key = k.key
),
-- Each key's share of the batch: the batch spread over the keys that may take any.
share as (
  select ceil((select n from budget)::numeric / greatest(1, count(*)))::int as n from allowance where n > 0
),
keyed as (
  select c.id, c.priority, c.run_at, a.depth,
         row_number() over (partition by a.key order by c.priority desc, c.run_at, c.id) as turn
  from allowance a
  cross join lateral (
    select j.id, j.priority, j.run_at
    from {{schema}}.jobs j
    where j.queue = $1 and j.flow_key = a.key and j.state <> 'running' and j.run_at <= (select now from clock)
      and j.handler = any($2::text[])
    order by j.priority desc, j.run_at, j.id
    -- Its share of the batch, not its whole allowance: locking 10 rows of each of 400 keys to
    -- take 100 made the claim 5× slower. A key short of its share leaves the claim short.
    limit least(a.n, (select n from share))
  ) c
  where a.n > 0
),
-- Jobs without a key take turns as one more key, limited only by the budget.
unkeyed as (
  select u.id, u.priority, u.run_at, 0 as depth,
         row_number() over (order by u.priority desc, u.run_at, u.id) as turn
  from (
    select j.id, j.priority, j.run_at
    from {{schema}}.jobs j
    where j.queue = $1 and j.flow_key is null and j.state <> 'running' and j.run_at <= (select now from clock)
      and j.handler = any($2::text[])
    order by j.priority desc, j.run_at, j.id
    limit (select n from budget)
  ) u
),
picked as (
  select id, depth from (select * from keyed union all select * from unkeyed) candidates
  order by turn, priority desc, depth, run_at, id
  limit (select n from budget)
),
claimed as (
  update {{schema}}.jobs j
  set state = 'running', attempt = j.attempt + 1, lease_token = gen_random_uuid(),
      lease_until = now() + $4 * interval '1 millisecond', worker_id = $5, started_at = (select now from clock),
      -- A claimed job is no longer the pending one of its singleton or debounce key.
      singleton_key = null, debounce_key = null, debounce_until = null
  -- = any(array(...)) makes the planner look rows up by primary key instead of joining. The
  -- candidates were read without locks: claims of this queue serialise on its row (lock_queue),
  -- so no other claim takes them; a job cancelled meanwhile is re-checked here and left out.
  where j.id = any(array(select id from picked)) and j.state <> 'running'
  returning j.id, j.queue, j.handler, j.target, j.payload, j.priority, j.attempt, j.max_attempts, j.backoff,
            j.tenant, j.dedupe_key, j.lease_token, j.lease_until, j.run_at, j.created_at, j.origin, j.flow_key
),
-- Each key's GCRA moves n intervals for its n starts.
rated as (
  insert into {{schema}}.flow_rates as g (queue, key, tat)
  select $1, c.flow_key, (select now from clock) + count(*) * $8::bigint * interval '1 microsecond'
  from claimed c
  where $8::bigint is not null and c.flow_key is not null
  group by c.flow_key
  on conflict (queue, key) do update
  set tat = greatest(g.tat, (select now from clock)) + (excluded.tat - (select now from clock))
),
-- The next claim starts after the last key that got a job (or the last walked, when none did).
moved as (
  update {{schema}}.queues q
  set flow_cursor = coalesce(
    (select k.key from keys k where k.depth = (select max(p.depth) from picked p where p.depth > 0)),
    (select k.key from keys k order by k.depth desc limit 1))
  where q.name = $1 and exists (select 1 from keys)
)
select id, queue, handler, target, payload, priority, attempt, max_attempts, backoff, tenant, dedupe_key,
       lease_token, lease_until, run_at, created_at, origin
from claimed
