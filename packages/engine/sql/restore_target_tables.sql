-- restore_target_tables: how many tables a database holds outside the system schemas, without
-- counting their rows (the target of a restore may be large).
select count(*)::int as tables
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_)'
