-- drill_start: records a restore drill of backup $1 as running; returns its id.
insert into {{schema}}.backup_drills (backup_id) values ($1::bigint)
returning id::text, started_at
