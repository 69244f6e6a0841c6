-- intake_get_event: event $1 with its status, headers and raw body.
select e.id, e.source, e.event_id, e.type, e.content_type, octet_length(e.body)::int as size,
       e.verification, e.received_at, e.routed_at, e.jobs_created, e.replays, e.headers, e.body,
       {{schema}}.event_status(e.id, e.routed_at, e.jobs_created) as status
from {{schema}}.events e
where e.id = $1
