-- set_queue_paused: pause ($2 = true) or resume ($2 = false) queue $1. Claims read the flag on
-- every call, so a pause holds in every process at once; a resume also wakes the workers.
with changed as (
  update {{schema}}.queues set paused = $2, updated_at = now() where name = $1 returning name, paused
),
wake as (
  select pg_notify({{channel}}, name) from changed where not paused
)
select name, paused from changed where (select count(*) from wake) >= 0
