-- backup_start: records a dump of target $1 (source label $2) as running; returns its id.
insert into {{schema}}.backups (target, source) values ($1, $2)
returning id::text, started_at
