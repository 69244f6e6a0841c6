-- flow_rates_expire: delete up to $1 GCRA states of flow keys whose TAT passed over a minute
-- ago: those keys are back at full allowance, and a missing row means exactly that to the claim
-- (greatest(tat, now) is now). A claim that read such a row before it went upserts it again
-- with the same result.
with doomed as (
  select queue, key from {{schema}}.flow_rates
  where tat < now() - interval '1 minute'
  limit $1
),
gone as (
  delete from {{schema}}.flow_rates f
  using doomed d
  where f.queue = d.queue and f.key = d.key and f.tat < now() - interval '1 minute'
  returning 1
)
select count(*)::int as deleted from gone
