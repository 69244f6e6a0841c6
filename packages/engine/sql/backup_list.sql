-- backup_list: the latest $1 backups, newest first; of target $2 when given.
select id::text, target, source, status, started_at, finished_at, data_at, path,
       size_bytes::float8 as size_bytes, sha256, tables, error
from {{schema}}.backups
where $2::text is null or target = $2
order by started_at desc, id desc
limit $1
