-- queue_history_counts: queue $1's jobs that succeeded and died in the last hour, each count
-- stopping at $2: index-only walks of job_history_retention (queue, state, finished_at) of at
-- most $2 rows each, whatever the size of history. (Totals come from job_counts, decision 050.)
select
  (select count(*) from (select 1 from {{schema}}.job_history
    where queue = $1 and state = 'succeeded' and finished_at > now() - interval '1 hour' limit $2) c)::int
    as succeeded_last_hour,
  (select count(*) from (select 1 from {{schema}}.job_history
    where queue = $1 and state = 'dead' and finished_at > now() - interval '1 hour' limit $2) c)::int
    as dead_last_hour
