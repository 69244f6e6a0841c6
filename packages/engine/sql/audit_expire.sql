-- audit_expire: deletes up to $2 of the oldest audit entries older than $1 days; how many, and
-- the time of the newest one deleted. Runs between audit_rewrite_allow and audit_rewrite_refuse.
with gone as (
  delete from {{schema}}.audit_log
  where id in (
    select id from {{schema}}.audit_log
    where at < now() - make_interval(days => $1)
    order by at
    limit $2
  )
  returning at
)
select count(*)::int as deleted, max(at) as newest from gone
