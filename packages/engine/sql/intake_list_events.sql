-- intake_list_events: up to $7 events newest first, without body and headers: of source $1,
-- with a type LIKE $2, in status $3, received in [$4, $5), with ids below cursor $6.
-- The status is computed for the rows read only (a status filter reads until a page is full).
select *
from (
  select e.id, e.source, e.event_id, e.type, e.content_type, octet_length(e.body)::int as size,
         e.verification, e.received_at, e.routed_at, e.jobs_created, e.replays,
         {{schema}}.event_status(e.id, e.routed_at, e.jobs_created) as status
  from {{schema}}.events e
  where ($1::text is null or e.source = $1)
    and ($2::text is null or e.type like $2)
    and ($4::timestamptz is null or e.received_at >= $4)
    and ($5::timestamptz is null or e.received_at < $5)
    and ($6::bigint is null or e.id < $6)
  order by e.id desc
) listed
where $3::text is null or listed.status = $3
limit $7
