-- queue_history_counts: queue $1's jobs that succeeded and died in the last hour, each count
-- stopping at $2, whatever the size of history: the succeeded ones summed over at most $2 of the
-- queue's latest job_finishes rows (decision 088; each names at least one job), the dead ones an
-- index-only walk of job_history_unsucceeded (queue, state, finished_at) of at most $2 rows.
-- (Totals come from job_counts, decision 050.)
select
  (select least(coalesce(sum(c.jobs), 0), $2) from (select f.jobs from {{schema}}.job_finishes f
    where f.queue = $1 and f.finished_at > now() - interval '1 hour'
    order by f.finished_at desc limit $2) c)::int
    as succeeded_last_hour,
  (select count(*) from (select 1 from {{schema}}.job_history
    where queue = $1 and state = 'dead' and state <> 'succeeded' and finished_at > now() - interval '1 hour' limit $2) c)::int
    as dead_last_hour
