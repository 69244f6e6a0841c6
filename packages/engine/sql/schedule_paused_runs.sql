-- schedule_paused_runs: the slots of schedule $1 skipped by the pause that is ending: those
-- recorded as skipped/paused after its last slot decided otherwise, and not before $2.
select fire_time, tenant
from {{schema}}.schedule_runs r
where r.schedule = $1 and r.outcome = 'skipped' and r.reason = 'paused' and r.fire_time >= $2
  and r.fire_time > coalesce(
    (select max(o.fire_time) from {{schema}}.schedule_runs o
     where o.schedule = $1 and o.kind = 'cron' and not (o.outcome = 'skipped' and o.reason = 'paused')),
    '-infinity')
order by r.fire_time, r.tenant
