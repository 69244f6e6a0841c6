-- schedule_runs_list: up to $4 runs of schedule $1, newest slot first, before the cursor
-- ($2 fire_time, $3 tenant), with the state of the job each made.
select r.schedule, r.fire_time, r.tenant, r.kind, r.outcome, r.reason, r.last_fire_time, r.skipped_count,
       r.job_id, r.decided_at,
       coalesce(
         case when j.state <> 'running' and j.run_at > now() then 'scheduled'
              when j.state <> 'running' then 'available' else j.state end,
         h.state) as job_state
from {{schema}}.schedule_runs r
left join {{schema}}.jobs j on j.id = r.job_id
left join {{schema}}.job_history h on h.id = r.job_id
where r.schedule = $1
  and ($2::timestamptz is null or (r.fire_time, r.tenant) < ($2::timestamptz, coalesce($3::text, '')))
order by r.fire_time desc, r.tenant desc
limit $4
