-- backup_tables: every table (of schema $1 only, when given) with its exact row count, read in
-- the caller's snapshot; on any database, not only Keel's (backups and restore drills).
select n.nspname || '.' || c.relname as name,
       (xpath('/row/c/text()',
              query_to_xml(format('select count(*) as c from %I.%I', n.nspname, c.relname), false, true, ''))
       )[1]::text::float8 as rows
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_)'
  and ($1::text is null or n.nspname = $1)
order by 1
