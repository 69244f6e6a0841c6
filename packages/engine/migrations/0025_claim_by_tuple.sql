-- keel:additive — two new functions; claim_due and claim_candidates_after replaced with the same signatures and results, now through them; older code calls them unchanged
-- 0025 (decision 074): claims lease the rows they locked by tuple id. The candidate search locks
-- each row it takes; the lease then found each one again through jobs_pkey (a B-tree descent and
-- a heap fetch per job: about a fifth of a claim's time in Postgres). A row this transaction has
-- locked cannot move, so its tuple id (ctid) finds it directly: the lease reads it by TID scan.
-- A row updated by another transaction between the claim's snapshot and its lock is returned at
-- its new version, which the lease's snapshot does not see: it is left unclaimed (its lock ends
-- with the claim) and the next claim takes it, as before for a job committed after the snapshot.

-- claim_due (0024), returning the tuple ids of the rows it locked.
create function claim_due_tids(p_queue text, p_handlers text[], p_limit integer, p_above integer, p_below integer)
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
  where j.queue = p_queue and j.state <> 'running'
    and j.priority < coalesce(p_below::bigint, 2147483648) and j.priority > coalesce(p_above::bigint, -2147483649)
  order by j.priority desc, j.run_at, j.id
  limit 1;
  while found and wanted > 0 loop
    return query
    select j.ctid
    from jobs j
    where j.queue = p_queue and j.state <> 'running' and j.priority = p
      and (j.run_at, j.id) >= (first_run_at, first_id) and j.run_at <= now() and j.handler = any(p_handlers)
    order by j.priority desc, j.run_at, j.id
    limit wanted
    for update skip locked;
    get diagnostics got = row_count;
    wanted := wanted - got;
    exit when wanted <= 0;
    select j.priority, j.run_at, j.id into p, first_run_at, first_id
    from jobs j
    where j.queue = p_queue and j.state <> 'running'
      and j.priority < p and j.priority > coalesce(p_above::bigint, -2147483649)
    order by j.priority desc, j.run_at, j.id
    limit 1;
  end loop;
end
$$;

-- claim_candidates_after (0024), returning the tuple ids of the rows it locked.
create function claim_after_tids(
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
  where j.queue = p_queue and j.state <> 'running' and j.run_at <= now() and j.handler = any(p_handlers)
    and j.priority = p_priority and (j.run_at, j.id) > (p_run_at, p_id)
  order by j.priority desc, j.run_at, j.id
  limit wanted
  for update skip locked;
  get diagnostics got = row_count;
  wanted := wanted - got;
  if wanted <= 0 then return; end if;

  -- Lower priorities, from their front.
  return query select * from claim_due_tids(p_queue, p_handlers, wanted, null, p_priority);
end
$$;

-- The previous version's statements call these two: the same rows, found through the new ones.
create or replace function claim_due(p_queue text, p_handlers text[], p_limit integer, p_above integer, p_below integer)
returns setof bigint
language plpgsql volatile
set search_path from current
as $$
begin
  return query
  select j.id from jobs j
  where j.ctid = any(array(select claim_due_tids(p_queue, p_handlers, p_limit, p_above, p_below)));
end
$$;

create or replace function claim_candidates_after(
  p_queue text, p_handlers text[], p_limit integer,
  p_priority integer, p_run_at timestamptz, p_id bigint)
returns setof bigint
language plpgsql volatile
set search_path from current
as $$
begin
  return query
  select j.id from jobs j
  where j.ctid = any(array(select claim_after_tids(p_queue, p_handlers, p_limit, p_priority, p_run_at, p_id)));
end
$$;
