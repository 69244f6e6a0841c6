-- revoke_token: revoke token $1 on behalf of $2. Returns the token and whether this call revoked
-- it (revoked_now: false when it already was, the first revocation kept); no row when it does not exist.
update {{schema}}.tokens t
set revoked_at = coalesce(t.revoked_at, now()), revoked_by = coalesce(t.revoked_by, $2)
from (select id, revoked_at is null as live from {{schema}}.tokens where id = $1 for update) before
where t.id = before.id
returning t.id, t.name, t.prefix, t.scopes, t.created_by, t.created_at, t.last_used_at, t.revoked_by,
  t.revoked_at, before.live as revoked_now
