-- backup_forget: removes the record of backups $1 (ids) once their files are deleted.
delete from {{schema}}.backups where id = any($1::bigint[])
