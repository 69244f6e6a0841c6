-- doctor_backups: the age in seconds of the latest successful backup and drill, and the status,
-- age and error of the latest finished drill (null when there is none).
select (select extract(epoch from now() - max(finished_at))::float8
          from {{schema}}.backups where status = 'succeeded') as backup_age_seconds,
       (select extract(epoch from now() - max(finished_at))::float8
          from {{schema}}.backup_drills where status = 'succeeded') as drill_age_seconds,
       d.status as last_drill_status, d.error as last_drill_error,
       extract(epoch from now() - d.finished_at)::float8 as last_drill_age_seconds
from (select 1) one
left join lateral (
  select status, error, finished_at from {{schema}}.backup_drills
  where status <> 'running' order by finished_at desc, id desc limit 1
) d on true
