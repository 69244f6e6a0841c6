-- revoke_token: revoke token $1 on behalf of $2. Returns the token; no row when it does not exist.
update {{schema}}.tokens
set revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, $2)
where id = $1
returning id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_by, revoked_at
