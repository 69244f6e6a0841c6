-- intake_event_sources: each source that has events, with its retention in seconds ($1 for
-- sources removed since). A loose index scan over events_source: one probe per source, however
-- many events there are.
with recursive names as (
  (select source from {{schema}}.events order by source limit 1)
  union all
  select (select e.source from {{schema}}.events e where e.source > n.source order by e.source limit 1)
  from names n
  where n.source is not null
)
select n.source, coalesce(s.retention_seconds, $1::int) as retention_seconds
from names n
left join {{schema}}.sources s on s.name = n.source
where n.source is not null
