-- claim_after: claim (see claim.sql, $1–$5) starting after the worker's cursor, $6–$8: the
-- (priority, run_at in microseconds since the epoch, id) of the last job it claimed (decision
-- 054: after the cursor, claims skip the entries of jobs claimed before it).
with {{include claim_allowed}},
picked as (
  select c.tid
  from {{schema}}.claim_after_tids($1, $2::text[], $3, $6::int,
         timestamptz 'epoch' + $7::bigint * interval '1 microsecond', $8::bigint) as c(tid)
  where (select ok from allowed)
),
{{include claim_lease}}