-- keel:additive — claim_due_tids and claim_after_tids replaced with the same signatures and results, a trigger on queues, and an index no statement names dropped; older code runs unchanged
-- 0026 (decision 078): one index of unclaimed jobs instead of two. Every job was entered in
-- jobs_ready (queue, priority, run_at, id) and in jobs_ready_flow (queue, flow_key, priority,
-- run_at, id), both over the jobs not running: two index entries for each enqueue and each
-- retry, where jobs_ready_flow alone serves every search. Claims of queues without limits or
-- flow control (the only ones jobs_ready served) now read jobs_ready_flow's null-key range,
-- ordered by flow_key first so that the order is the index's (as claim_limited's unkeyed search
-- does since 0023, decision 068). Such a queue holds no keyed job: a keyed enqueue marks its
-- queue (flow_jobs), a key expression makes the queue a flow queue, and from now on removing the
-- expression marks it too (the trigger below), so its keyed jobs stay with claim_limited.

-- Keys that the queue's expression gave its waiting jobs outlive the expression: the queue is
-- claimed by claim_limited, which reads keyed and unkeyed jobs alike.
create function queues_keep_flow_jobs() returns trigger
language plpgsql
as $$
begin
  new.flow_jobs := true;
  return new;
end
$$;

create trigger queues_keep_flow_jobs
before update on queues
for each row
when (old.flow_key is not null and new.flow_key is null and not new.flow_jobs)
execute function queues_keep_flow_jobs();

-- Queues whose expression was removed before this migration, with keyed jobs still waiting.
update queues q set flow_jobs = true
where q.flow_key is null and not q.flow_jobs
  and exists (select 1 from jobs j where j.queue = q.name and j.flow_key is not null);

-- claim_due_tids (0025), through jobs_ready_flow's null-key range.
create or replace function claim_due_tids(p_queue text, p_handlers text[], p_limit integer, p_above integer, p_below integer)
returns setof tid
language plpgsql volatile
set enable_seqscan = off
set enable_bitmapscan = off
set enable_sort = off
set jit = off
set search_path from current
as $$
declare
  wanted integer := p_limit;
  got integer;
  p integer;
  first_run_at timestamptz;
  first_id bigint;
begin
  select j.priority, j.run_at, j.id into p, first_run_at, first_id
  from jobs j
  -- Bounds one past the int range when absent, so that every priority is inside them.
  where j.queue = p_queue and j.flow_key is null and j.state <> 'running'
    and j.priority < coalesce(p_below::bigint, 2147483648) and j.priority > coalesce(p_above::bigint, -2147483649)
  order by j.flow_key, j.priority desc, j.run_at, j.id
  limit 1;
  while found and wanted > 0 loop
    return query
    select j.ctid
    from jobs j
    where j.queue = p_queue and j.flow_key is null and j.state <> 'running' and j.priority = p
      and (j.run_at, j.id) >= (first_run_at, first_id) and j.run_at <= now() and j.handler = any(p_handlers)
    order by j.flow_key, j.priority desc, j.run_at, j.id
    limit wanted
    for update skip locked;
    get diagnostics got = row_count;
    wanted := wanted - got;
    exit when wanted <= 0;
    select j.priority, j.run_at, j.id into p, first_run_at, first_id
    from jobs j
    where j.queue = p_queue and j.flow_key is null and j.state <> 'running'
      and j.priority < p and j.priority > coalesce(p_above::bigint, -2147483649)
    order by j.flow_key, j.priority desc, j.run_at, j.id
    limit 1;
  end loop;
end
$$;

-- claim_after_tids (0025), through jobs_ready_flow's null-key range.
create or replace function claim_after_tids(
  p_queue text, p_handlers text[], p_limit integer,
  p_priority integer, p_run_at timestamptz, p_id bigint)
returns setof tid
language plpgsql volatile
set enable_seqscan = off
set enable_bitmapscan = off
set enable_sort = off
set jit = off
set search_path from current
as $$
declare
  wanted integer := p_limit;
  got integer;
begin
  -- Higher priorities than the cursor's, from the front.
  return query select * from claim_due_tids(p_queue, p_handlers, wanted, p_priority, null);
  get diagnostics got = row_count;
  wanted := wanted - got;
  if wanted <= 0 then return; end if;

  -- The cursor's priority after the cursor.
  return query
  select j.ctid
  from jobs j
  where j.queue = p_queue and j.flow_key is null and j.state <> 'running' and j.run_at <= now()
    and j.handler = any(p_handlers) and j.priority = p_priority and (j.run_at, j.id) > (p_run_at, p_id)
  order by j.flow_key, j.priority desc, j.run_at, j.id
  limit wanted
  for update skip locked;
  get diagnostics got = row_count;
  wanted := wanted - got;
  if wanted <= 0 then return; end if;

  -- Lower priorities, from their front.
  return query select * from claim_due_tids(p_queue, p_handlers, wanted, null, p_priority);
end
$$;

drop index jobs_ready;
