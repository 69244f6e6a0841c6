-- jobs_grown: how many rows jobs holds now (the statistics system's live count) and how many
-- Postgres last counted for the planner (reltuples, set by ANALYZE and VACUUM; -1 before the
-- first). refreshJobStatistics analyses the table when the first has outgrown the second
-- (decision 066).
select coalesce(s.n_live_tup, 0)::bigint as live, c.reltuples::bigint as counted
from pg_class c
left join pg_stat_all_tables s on s.relid = c.oid
where c.oid = '{{schema}}.jobs'::regclass
