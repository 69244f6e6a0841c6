-- backup_finish: the outcome of backup $1: status $2, data time $3, path $4, size $5, sha256 $6,
-- table row counts $7, error $8.
update {{schema}}.backups
set status = $2, finished_at = now(), data_at = $3, path = $4, size_bytes = $5, sha256 = $6,
    tables = $7, error = $8
where id = $1::bigint
