-- keel:additive — a new table kept by triggers, and an index replaced by a partial one; older code runs unchanged (the triggers record its writes to history too; its retention and its list of succeeded jobs read history without the index, slower, until it is replaced)
-- 0029 (decision 088): a completion's succeeded jobs recorded once, in a job_finishes row, not in
-- an index entry a job. Every finished job was entered in job_history_retention (queue, state,
-- finished_at), read by retention, the list of a queue's jobs in finish order, the hour's counts
-- and the doctor. Nearly every finished job succeeded, and a statement's succeeded jobs of one
-- queue share their finish time (now()): a statement-level trigger now writes one row a queue
-- and finish time naming their ids, whichever code wrote the statement, and those readers find
-- succeeded jobs through it. The index keeps the jobs that died or were cancelled: few, and read
-- in more ways (failure groups, dead-job counts, retries and purges).
create table job_finishes (
  queue text not null,
  finished_at timestamptz not null,
  -- cardinality(job_ids), kept so that readers count without reading the ids.
  jobs integer not null,
  job_ids bigint[] not null
);

create index job_finishes_queue on job_finishes (queue, finished_at);

-- A completion of 2,000 names 16 KB of ids, stored out of line as job_leases stores its own
-- (decision 087): without trying to compress them first.
alter table job_finishes alter column job_ids set storage external;

-- Every succeeded job in history is named by exactly one row of its queue and finish time, and
-- every row names only such jobs. Keel's completions only insert; retention deletes a row with
-- its jobs (its own statement removes the row first, so the delete below finds nothing to do);
-- anything else that deletes or updates succeeded history (an older Keel's retention, an
-- operator's hand) takes its jobs out of their rows here, and an update puts them back under
-- their new queue and time. Removal is per (queue, finish time) pair: an index probe each.
create function job_finishes_apply() returns trigger language plpgsql as $$
begin
  if tg_op <> 'INSERT' then
    with gone as (
      select queue, finished_at, array_agg(id) as ids
      from old_rows
      where state = 'succeeded'
      group by queue, finished_at
    )
    update job_finishes f
    set (job_ids, jobs) = (
      select k.ids, cardinality(k.ids)
      from (select array(select x from unnest(f.job_ids) as x except select unnest(g.ids) order by 1) as ids) k
    )
    from gone g
    where f.queue = g.queue and f.finished_at = g.finished_at and f.job_ids && g.ids;

    delete from job_finishes f
    using (select distinct queue, finished_at from old_rows where state = 'succeeded') g
    where f.queue = g.queue and f.finished_at = g.finished_at and f.jobs = 0;
  end if;
  if tg_op <> 'DELETE' then
    insert into job_finishes (queue, finished_at, jobs, job_ids)
    select queue, finished_at, count(*), array_agg(id order by id)
    from new_rows
    where state = 'succeeded'
    group by queue, finished_at;
  end if;
  return null;
end
$$;
-- Pinned to this schema, whatever search_path the writing session has (as job_counts_apply).
alter function job_finishes_apply() set search_path from current;

-- The triggers lock job_history against writers until this migration commits, so the rows
-- written below miss no job.
create trigger job_history_finished_insert after insert on job_history
  referencing new table as new_rows for each statement execute function job_finishes_apply();
create trigger job_history_finished_delete after delete on job_history
  referencing old table as old_rows for each statement execute function job_finishes_apply();
create trigger job_history_finished_update after update on job_history
  referencing old table as old_rows new table as new_rows for each statement execute function job_finishes_apply();

-- Succeeded jobs already in history: a row a queue and finish time, split so that no row names
-- more than 10,000 jobs (a history loaded in one statement shares one finish time).
insert into job_finishes (queue, finished_at, jobs, job_ids)
select queue, finished_at, count(*), array_agg(id order by id)
from (
  select queue, finished_at, id,
         (row_number() over (partition by queue, finished_at order by id) - 1) / 10000 as part
  from job_history
  where state = 'succeeded'
) h
group by queue, finished_at, part;

create index job_history_unsucceeded on job_history (queue, state, finished_at) where state <> 'succeeded';
drop index job_history_retention;
