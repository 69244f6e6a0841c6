-- intake_event_meta: source and type of events $1 (bigint[]), for routing them again.
select id, source, type
from {{schema}}.events
where id = any($1::bigint[])
order by id desc
