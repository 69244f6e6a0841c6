-- schedule_paused_runs: slots of schedule $1 skipped because it was paused, at or after $2.
select fire_time, tenant
from {{schema}}.schedule_runs
where schedule = $1 and outcome = 'skipped' and reason = 'paused' and fire_time >= $2
order by fire_time, tenant
