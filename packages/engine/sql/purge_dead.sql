-- purge_dead: delete up to $2 dead jobs of queue $1 (filtered by $3–$6, see dead_filter) with
-- their attempts, oldest first. Returns how many jobs went.
with doomed as (
  select h.id
  from {{schema}}.job_history h
  where h.queue = $1 and {{include dead_filter}}
  order by h.finished_at
  limit $2
  for update skip locked
),
gone as (
  delete from {{schema}}.job_history h using doomed d where h.id = d.id returning h.id
),
tries as (
  delete from {{schema}}.attempts a using gone g where a.job_id = g.id
)
select count(*)::int as deleted from gone
