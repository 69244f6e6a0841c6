-- keel:additive — a new function; the previous version keeps calling claim_candidates
-- 0020 (decision 054): a claim that starts where the worker's last claim ended. Every claimed job
-- leaves an entry in jobs_ready pointing at its pre-claim row version; vacuum removes those, but
-- while something pins the vacuum horizon (a session idle in transaction, a long report) they
-- pile up at the front of the queue's range, and a claim that scans from the front visits every
-- one of them (a heap fetch each) before it reaches a ready job: claims slow down in proportion
-- to the jobs processed since the horizon was pinned. With a cursor the scan starts after the
-- last job the worker claimed, so it visits only what arrived since. Order is kept: jobs of a
-- higher priority than the cursor's are looked for first from the front (an empty range unless
-- such jobs exist), then the cursor's priority after the cursor, then lower priorities.
-- What the cursor can miss — a job of the cursor's priority that became due behind it (a retry
-- or delayed job whose run_at is older than the cursor's) — waits for the worker's next claim
-- without a cursor, which it makes at least once a second.
create function claim_candidates_after(
  p_queue text, p_handlers text[], p_limit integer,
  p_priority integer, p_run_at timestamptz, p_id bigint)
returns setof bigint
language plpgsql volatile
set enable_seqscan = off
set enable_bitmapscan = off
set enable_sort = off
set search_path from current
as $$
declare
  wanted integer := p_limit;
  got integer;
begin
  return query
  select j.id
  from jobs j
  where j.queue = p_queue and j.state <> 'running' and j.run_at <= now() and j.handler = any(p_handlers)
    and j.priority > p_priority
  order by j.priority desc, j.run_at, j.id
  limit wanted
  for update skip locked;
  get diagnostics got = row_count;
  wanted := wanted - got;
  if wanted <= 0 then return; end if;

  return query
  select j.id
  from jobs j
  where j.queue = p_queue and j.state <> 'running' and j.run_at <= now() and j.handler = any(p_handlers)
    and j.priority = p_priority and (j.run_at, j.id) > (p_run_at, p_id)
  order by j.priority desc, j.run_at, j.id
  limit wanted
  for update skip locked;
  get diagnostics got = row_count;
  wanted := wanted - got;
  if wanted <= 0 then return; end if;

  return query
  select j.id
  from jobs j
  where j.queue = p_queue and j.state <> 'running' and j.run_at <= now() and j.handler = any(p_handlers)
    and j.priority < p_priority
  order by j.priority desc, j.run_at, j.id
  limit wanted
  for update skip locked;
end
$$;
