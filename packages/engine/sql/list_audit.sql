-- list_audit: up to $2 entries older than id $1 (null for the newest), newest first; $3 actor,
-- $4 action, $5 target filter when not null (exact matches; keyset on the primary key); $6 at
-- or after, $7 before, when not null.
select id, at, actor, action, target, source, details
from {{schema}}.audit_log
where ($1::bigint is null or id < $1)
  and ($3::text is null or actor = $3)
  and ($4::text is null or action = $4)
  and ($5::text is null or target = $5)
  and ($6::timestamptz is null or at >= $6)
  and ($7::timestamptz is null or at < $7)
order by id desc
limit $2
