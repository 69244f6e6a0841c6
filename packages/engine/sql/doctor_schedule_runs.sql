-- doctor_schedule_runs: the jobs of each schedule's latest $1 enqueued slots, newest first, with
-- how they ended: dead, failing (waiting for a retry after a failed attempt), or fine.
select r.schedule, r.fire_time,
       case
         when h.state = 'dead' then 'dead'
         when j.last_error is not null then 'failing'
         else 'ok'
       end as status
from {{schema}}.schedules s
cross join lateral (
  select schedule, fire_time, job_id
  from {{schema}}.schedule_runs
  where schedule = s.name and job_id is not null
  order by fire_time desc
  limit $1
) r
left join {{schema}}.job_history h on h.id = r.job_id
left join {{schema}}.jobs j on j.id = r.job_id
order by r.schedule, r.fire_time desc
