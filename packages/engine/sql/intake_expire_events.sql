-- intake_expire_events: delete those of the $3 oldest events of source $1 received more than $2
-- seconds ago. Reading only the oldest $3 (by id, which follows arrival) keeps each batch
-- cheap; fewer than $3 deleted means the source is done. Returns how many went.
with oldest as (
  select id, received_at
  from {{schema}}.events
  where source = $1
  order by id
  limit $3
),
gone as (
  delete from {{schema}}.events e
  using oldest o
  where e.id = o.id and o.received_at < now() - $2 * interval '1 second'
  returning e.id
)
select count(*)::int as deleted from gone
