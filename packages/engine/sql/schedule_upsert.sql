-- schedule_upsert: create or replace schedule $1. $14 is the cursor to keep or set.
insert into {{schema}}.schedules as s
  (name, cron, timezone, queue, target, payload, job_options, missed, backfill_seconds, overlap, fan_out,
   jitter_seconds, managed_by, next_fire_at)
values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10, $11::jsonb, $12, $13, $14)
on conflict (name) do update
set cron = excluded.cron, timezone = excluded.timezone, queue = excluded.queue, target = excluded.target,
    payload = excluded.payload, job_options = excluded.job_options, missed = excluded.missed,
    backfill_seconds = excluded.backfill_seconds, overlap = excluded.overlap, fan_out = excluded.fan_out,
    jitter_seconds = excluded.jitter_seconds, managed_by = excluded.managed_by,
    next_fire_at = excluded.next_fire_at, updated_at = now()
returning *
