-- intake_event_payload: what a delivery of event $1 forwards: raw body, content type, headers.
-- One primary-key read per attempt (decision 020).
select source, content_type, headers, body
from {{schema}}.events
where id = $1
