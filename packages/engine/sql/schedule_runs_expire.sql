-- schedule_runs_expire: delete up to $2 decided runs older than $1 seconds. Cursors only move
-- forward, so a slot this old can never be decided again. Queued runs are kept until they run.
with doomed as (
  select schedule, fire_time, tenant from {{schema}}.schedule_runs
  where decided_at < now() - $1 * interval '1 second' and outcome <> 'queued'
  limit $2
),
gone as (
  delete from {{schema}}.schedule_runs r
  using doomed d
  where r.schedule = d.schedule and r.fire_time = d.fire_time and r.tenant = d.tenant
  returning 1
)
select count(*)::int as deleted from gone
