-- drill_start: records a restore drill of backup $1 (and its target) as running; returns its id.
insert into {{schema}}.backup_drills (backup_id, target)
select id, target from {{schema}}.backups where id = $1::bigint
returning id::text, started_at
