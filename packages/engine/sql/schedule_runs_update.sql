-- schedule_runs_update: set the outcome, reason and job of decided runs, $1 a jsonb array of
-- {schedule, fire_time, tenant, outcome, reason, job_id, kind}.
update {{schema}}.schedule_runs r
set outcome = x.outcome, reason = x.reason, job_id = x.job_id, kind = coalesce(x.kind, r.kind),
    decided_at = now()
from jsonb_to_recordset($1::jsonb) as x(
       schedule text, fire_time timestamptz, tenant text, outcome text, reason text, job_id bigint, kind text)
where r.schedule = x.schedule and r.fire_time = x.fire_time and r.tenant = x.tenant
