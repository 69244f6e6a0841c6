-- schedule_runs_insert: record decided slots, $1 a jsonb array of {schedule, fire_time, tenant,
-- kind, outcome, reason, last_fire_time, skipped_count}. A slot already decided is left alone:
-- only the rows returned are new, and only those may make a job.
insert into {{schema}}.schedule_runs
  (schedule, fire_time, tenant, kind, outcome, reason, last_fire_time, skipped_count)
select x.schedule, x.fire_time, x.tenant, x.kind, x.outcome, x.reason, x.last_fire_time, x.skipped_count
from jsonb_to_recordset($1::jsonb) as x(
       schedule text, fire_time timestamptz, tenant text, kind text, outcome text, reason text,
       last_fire_time timestamptz, skipped_count int)
on conflict (schedule, fire_time, tenant) do nothing
returning schedule, fire_time, tenant
