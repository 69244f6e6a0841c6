-- backup_get: backup $1, or the latest successful one (of target $2 when given) when $1 is null.
select id::text, target, source, status, started_at, finished_at, data_at, path,
       size_bytes::float8 as size_bytes, sha256, tables, error
from {{schema}}.backups
where ($1::bigint is not null and id = $1::bigint)
   or ($1::bigint is null and status = 'succeeded' and ($2::text is null or target = $2))
order by started_at desc, id desc
limit 1
