-- intake_find_events: the ids of stored events by (source $1[i], event_id $2[i]), for duplicates.
select e.id, e.source, e.event_id
from {{schema}}.events e
join unnest($1::text[], $2::text[]) as k(source, event_id) on e.source = k.source and e.event_id = k.event_id
