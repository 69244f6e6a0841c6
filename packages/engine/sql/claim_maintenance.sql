-- claim_maintenance: take periodic task $1 if it last ran more than $2 milliseconds ago.
-- Returns a row only to the one process that should run it now, however many replicas ask.
insert into {{schema}}.maintenance as m (task, last_run_at)
values ($1, now())
on conflict (task) do update
set last_run_at = now()
where m.last_run_at < now() - $2 * interval '1 millisecond'
returning task
