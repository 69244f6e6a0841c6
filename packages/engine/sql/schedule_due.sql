-- schedule_due: lock up to $2 schedules that have a slot due at $1 (null: the transaction's
-- clock) or a queued run waiting for its turn, skipping those another scheduler holds right
-- now. The row lock is what lets one scheduler at a time decide a schedule's slots.
select s.name, s.cron, s.timezone, s.queue, s.target, s.payload, s.job_options, s.missed,
       s.backfill_seconds, s.overlap, s.fan_out, s.jitter_seconds, s.next_fire_at,
       coalesce($1::timestamptz, now()) as now
from {{schema}}.schedules s
where s.next_fire_at <= coalesce($1::timestamptz, now())
   or (s.overlap = 'queue'
       and exists (select 1 from {{schema}}.schedule_runs r where r.schedule = s.name and r.outcome = 'queued'))
order by s.next_fire_at
limit $2
for update skip locked
