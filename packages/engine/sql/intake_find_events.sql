-- intake_find_events: the ids of stored events by (source $1[i], event_id $2[i]), for duplicates.
select e.id, e.source, e.event_id
from {{schema}}.events e
-- The arrays behind subqueries, so that a plan made with their values is costed as one made
-- without them: counted, a batch of hundreds hashed the whole of events (decision 081).
join unnest((select $1::text[]), (select $2::text[])) as k(source, event_id)
  on e.source = k.source and e.event_id = k.event_id
