-- ratelimit_sweep: one batch of the sweep over rate_limits in primary-key order. Looks at up to
-- $3 rows after ($1 policy, $2 key) and deletes those whose TAT has passed (their keys are back
-- at full quota, so the row holds nothing). A row a check updates meanwhile is re-read by the
-- delete and kept. Returns the last row looked at (null policy: the end was reached) and how
-- many rows went.
with batch as (
  select policy, key from {{schema}}.rate_limits
  where (policy, key) > ($1::text, $2::text)
  order by policy, key
  limit $3
),
gone as (
  delete from {{schema}}.rate_limits r
  using batch b
  where r.policy = b.policy and r.key = b.key
    and r.tat < (extract(epoch from clock_timestamp()) * 1000000)::bigint
  returning 1
),
last as (
  select policy, key from batch order by policy desc, key desc limit 1
)
select (select policy from last) as policy,
       (select key from last) as key,
       (select count(*) from gone)::int as deleted
