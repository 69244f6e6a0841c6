-- intake_events: the ev CTE of an intake statement, the batch's events; included by intake_accept
-- and intake_accept_plain. Not a statement. $1 source, $2 event_id, $3 type, $4 content_type
-- (text[]); $5 headers and $7 verification, one JSON array each (an object per event); $6 the
-- bodies end to end in one bytea, sent in binary, and $9 each body's length in bytes (int[]);
-- $8 jobs the routing makes (int[]). One bytea instead of an array of them: the driver would
-- hex-encode and escape every body, and Postgres parse the text back (decision 065).
ev as materialized (
  select x.source, x.event_id, x.type, x.content_type, x.headers,
         substring($6::bytea from (sum(x.body_length) over w - x.body_length + 1)::int for x.body_length) as body,
         x.verification, x.jobs_created, x.ev
  from rows from (unnest($1::text[]), unnest($2::text[]), unnest($3::text[]), unnest($4::text[]),
                  jsonb_array_elements($5::jsonb), jsonb_array_elements($7::jsonb), unnest($8::int[]),
                  unnest($9::int[])) with ordinality
       as x(source, event_id, type, content_type, headers, verification, jobs_created, body_length, ev)
  window w as (order by x.ev rows unbounded preceding)
)
