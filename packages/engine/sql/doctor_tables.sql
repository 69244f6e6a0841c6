-- doctor_tables: vacuum health of Keel's tables in schema $1: live and dead tuples, the last
-- (auto)vacuum, and whether autovacuum was turned off for the table (reloptions).
select c.relname as table,
       coalesce(s.n_live_tup, 0)::bigint as live,
       coalesce(s.n_dead_tup, 0)::bigint as dead,
       greatest(s.last_vacuum, s.last_autovacuum) as vacuumed_at,
       exists (select 1 from unnest(c.reloptions) o
               where o ~* '^autovacuum_enabled=(false|off|no|f|n|0)$') as autovacuum_off
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_stat_user_tables s on s.relid = c.oid
where n.nspname = $1 and c.relkind = 'r'
order by c.relname
