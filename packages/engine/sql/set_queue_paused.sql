-- set_queue_paused: pause ($2 = true) or resume ($2 = false) queue $1. Claims read the flag on
-- every call, so a pause holds in every process at once; a resume also wakes the workers (at
-- commit: notifications are transactional). Returns whether the queue was paused before.
with before as (
  select name, paused from {{schema}}.queues where name = $1 for update
),
changed as (
  update {{schema}}.queues q set paused = $2, updated_at = now()
  from before b where q.name = b.name
  returning q.name, q.paused, b.paused as was_paused
),
wake as (
  select pg_notify({{channel}}, name) from changed where not paused
)
select name, paused, was_paused from changed where (select count(*) from wake) >= 0
