-- intake_count_events: how many events match the list filter ($1 source, $2 type LIKE, $3 status,
-- $4 since, $5 until, $6 below id): the total of a bulk replay's progress bar.
select count(*)::int as n
from {{schema}}.events e
where ($1::text is null or e.source = $1)
  and ($2::text is null or e.type like $2)
  and ($4::timestamptz is null or e.received_at >= $4)
  and ($5::timestamptz is null or e.received_at < $5)
  and ($6::bigint is null or e.id < $6)
  and ($3::text is null or {{schema}}.event_status(e.id, e.routed_at, e.jobs_created) = $3)
