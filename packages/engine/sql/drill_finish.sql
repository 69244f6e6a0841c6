-- drill_finish: the outcome of drill $1: status $2, restore time $3 ms, data age $4 s, error $5.
update {{schema}}.backup_drills
set status = $2, finished_at = now(), restore_ms = $3, data_age_seconds = $4, error = $5
where id = $1::bigint
