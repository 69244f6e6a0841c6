-- intake_insert_rejections: keep refused requests. Parallel arrays: $1 source, $2 reason,
-- $3 detail, $4 redacted headers (jsonb), $5 body size, $6 request id. Then trims each source
-- named to its newest 100: this statement's own rows are invisible to the trim, so it keeps
-- the newest 100 - n earlier rows of a source that gets n new ones.
with added as (
  insert into {{schema}}.intake_rejections (source, reason, detail, headers, body_size, request_id)
  select * from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::text[])
  returning source
),
cut as (
  select s.source,
         (select r.id from {{schema}}.intake_rejections r
          where r.source = s.source order by r.id desc offset greatest(0, 100 - s.n) limit 1) as id
  from (select source, count(*)::int as n from unnest($1::text[]) as source group by source) s
)
delete from {{schema}}.intake_rejections r
using cut
where r.source = cut.source and r.id <= cut.id
