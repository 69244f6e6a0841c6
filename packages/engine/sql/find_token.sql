-- find_token: the live token whose hash is $1, marking it used (at most once a minute, to keep
-- authentication from writing on every request).
with hit as (
  select id, name, prefix, scopes, hash from {{schema}}.tokens where hash = $1 and revoked_at is null
),
touch as (
  update {{schema}}.tokens t set last_used_at = now()
  from hit
  where t.id = hit.id and (t.last_used_at is null or t.last_used_at < now() - interval '1 minute')
)
select id, name, prefix, scopes, hash from hit
