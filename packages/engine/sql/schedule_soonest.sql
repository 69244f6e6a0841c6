-- schedule_soonest: milliseconds until the earliest cursor of any schedule (0 when one is due),
-- null without schedules; and whether a queued run waits.
select greatest(0, extract(epoch from (min(next_fire_at) - clock_timestamp())) * 1000)::float8 as wait_ms,
       exists (select 1 from {{schema}}.schedule_runs where outcome = 'queued') as queued
from {{schema}}.schedules
