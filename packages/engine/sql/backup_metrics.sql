-- backup_metrics: per target, the latest successful backup (end, size), the latest passing drill
-- (end, restore time, data age) and the status of the latest finished drill, for /metrics.
with targets as (
  select distinct target from {{schema}}.backups
  union
  select distinct target from {{schema}}.backup_drills where target is not null
)
select t.target,
       extract(epoch from b.finished_at)::float8 as backup_at,
       b.size_bytes::float8 as backup_size_bytes,
       extract(epoch from p.finished_at)::float8 as drill_at,
       p.restore_ms::float8 / 1000 as drill_restore_seconds,
       p.data_age_seconds as drill_data_age_seconds,
       l.status as last_drill_status
from targets t
left join lateral (
  select finished_at, size_bytes from {{schema}}.backups
  where target = t.target and status = 'succeeded' order by finished_at desc limit 1
) b on true
left join lateral (
  select finished_at, restore_ms, data_age_seconds from {{schema}}.backup_drills
  where target = t.target and status = 'succeeded' order by finished_at desc limit 1
) p on true
left join lateral (
  select status from {{schema}}.backup_drills
  where target = t.target and status <> 'running' order by finished_at desc, id desc limit 1
) l on true
order by t.target
