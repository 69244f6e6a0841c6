-- schedule_runs_at: the runs of schedule $1 at slot $2, one per tenant.
select tenant, job_id, fire_time from {{schema}}.schedule_runs where schedule = $1 and fire_time = $2 order by tenant
