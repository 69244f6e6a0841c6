-- idempotency_expire: delete up to $1 expired idempotency records. Returns how many went.
with doomed as (
  select scope, key from {{schema}}.idempotency_keys
  where expires_at < now()
  limit $1
  for update skip locked
),
gone as (
  delete from {{schema}}.idempotency_keys k using doomed d
  where k.scope = d.scope and k.key = d.key
  returning 1
)
select count(*)::int as deleted from gone
