-- keel:additive — a new table kept by triggers, a function and an index; older code never reads them, and its own writes to job_history keep the counts true
-- 0015 (decision 050): finished jobs counted per queue and state as they enter and leave
-- job_history, so list_queues (GET /v1/queues, `keel queues`, the metrics scrape, the console)
-- no longer counts history per call. Statement-level triggers with transition tables add one
-- aggregated row per (queue, state) per statement — a completion batch of 100 jobs is one upsert,
-- a retention batch one subtraction — whichever code wrote the statement, so the counts stay
-- true through retention, purges, retries and a rolling deploy with older processes. Each
-- backend adds to its own shard of 16 (pg_backend_pid() % 16): concurrent completions of one
-- queue do not queue up on one row lock; a reader sums the shards. A shard may go negative;
-- the sum is the count. Bulk retries and purges use shards 16–31 (bulk_count_shard.sql).
create table job_counts (
  queue text not null,
  state text not null,
  shard smallint not null,
  jobs bigint not null,
  primary key (queue, state, shard)
);

create function job_counts_apply() returns trigger language plpgsql as $$
declare
  -- A bulk retry or purge (one long transaction) names its own shard, 16–31, so the counter
  -- rows it holds until commit are never those a worker's completion needs.
  s smallint := coalesce(nullif(current_setting('keel.count_shard', true), '')::smallint, pg_backend_pid() % 16);
begin
  if tg_op = 'INSERT' then
    insert into job_counts as c (queue, state, shard, jobs)
    select queue, state, s, count(*) from new_rows group by queue, state order by queue, state
    on conflict (queue, state, shard) do update set jobs = c.jobs + excluded.jobs;
  elsif tg_op = 'DELETE' then
    insert into job_counts as c (queue, state, shard, jobs)
    select queue, state, s, -count(*) from old_rows group by queue, state order by queue, state
    on conflict (queue, state, shard) do update set jobs = c.jobs + excluded.jobs;
  else
    insert into job_counts as c (queue, state, shard, jobs)
    select queue, state, s, sum(n) from (
      select queue, state, 1 as n from new_rows union all select queue, state, -1 from old_rows
    ) d group by queue, state having sum(n) <> 0 order by queue, state
    on conflict (queue, state, shard) do update set jobs = c.jobs + excluded.jobs;
  end if;
  return null;
end
$$;
-- The function names job_counts unqualified, as notify_jobs_inserted names nothing: pin it to
-- this schema, whatever search_path the writing session has.
alter function job_counts_apply() set search_path from current;

-- The triggers lock job_history against writers until this migration commits, so the counts
-- taken below miss no job.
create trigger job_history_counted_insert after insert on job_history
  referencing new table as new_rows for each statement execute function job_counts_apply();
create trigger job_history_counted_delete after delete on job_history
  referencing old table as old_rows for each statement execute function job_counts_apply();
create trigger job_history_counted_update after update on job_history
  referencing old table as old_rows new table as new_rows for each statement execute function job_counts_apply();

insert into job_counts (queue, state, shard, jobs)
select queue, state, 0, count(*) from job_history group by queue, state;

-- A jobs list filtered by queue and state pages through this index; without it, a filter
-- matching few or no finished jobs walked the whole primary key of history.
create index job_history_queue_state on job_history (queue, state, id);
-- The same for a dedupe key (the console's jobs filter, and bulk retry's check for a newer dead
-- job with the key); only jobs that have a key pay for the entry.
create index job_history_dedupe_key on job_history (dedupe_key) where dedupe_key is not null;

-- The shape of a job's error, for grouping failures (the console's Failures view, `keel jobs
-- retry --fingerprint`): its code, then its message with quoted strings, UUIDs, hex runs and
-- numbers replaced by placeholders. The fingerprint is the first 12 hex digits of its MD5
-- (shape_fingerprint: failure_groups computes the shape once per row, then fingerprints it).
create function error_shape(e jsonb) returns text language sql immutable parallel safe as $$
  select coalesce(e ->> 'code', 'error') || ': ' || left(
    regexp_replace(regexp_replace(regexp_replace(regexp_replace(
      left(coalesce(e ->> 'message', ''), 500),
      '"[^"]*"|''[^'']*''', '<str>', 'g'),
      '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<uuid>', 'g'),
      '\m(0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\M|\m(0x)?[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\M', '<hex>', 'g'),
      '[0-9]+', '<n>', 'g'),
    200)
$$;
create function shape_fingerprint(shape text) returns text language sql immutable parallel safe as $$
  select left(md5(shape), 12)
$$;
create function error_fingerprint(e jsonb) returns text language sql immutable parallel safe as $$
  select shape_fingerprint(error_shape(e))
$$;
alter function error_fingerprint(jsonb) set search_path from current;
