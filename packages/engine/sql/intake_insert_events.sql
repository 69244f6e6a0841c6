-- intake_insert_events: store a batch of verified events in one statement. A (source, event_id)
-- already stored is skipped: that is the dedupe (a concurrent insert of the same key waits for
-- the other transaction, then skips). Parallel arrays: $1 source, $2 event_id, $3 type,
-- $4 content_type, $5 headers (jsonb), $6 body (bytea), $7 verification (jsonb), $8 jobs the
-- routing makes. Event ids are unique within the batch. Returns the events inserted only.
-- Rows go in key order, not arrival order: two batches holding the same events then wait on
-- each other's keys in one order and cannot deadlock.
insert into {{schema}}.events
  (source, event_id, type, content_type, headers, body, verification, jobs_created)
select x.source, x.event_id, x.type, x.content_type, x.headers, x.body, x.verification, x.jobs
from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bytea[], $7::jsonb[], $8::int[])
  as x(source, event_id, type, content_type, headers, body, verification, jobs)
order by x.source, x.event_id
on conflict (source, event_id) do nothing
returning id, source, event_id
