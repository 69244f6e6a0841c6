-- revoke_token: revoke token $1 on behalf of $2. Returns the token and whether this call revoked
-- it (revoked_now: false when it already was, the first revocation kept); no row when it does not exist.
-- Notifies the tokens channel with the id, so every replica drops the verifications it keeps
-- (delivered at commit; decision 062).
with revoked as (
  update {{schema}}.tokens t
  set revoked_at = coalesce(t.revoked_at, now()), revoked_by = coalesce(t.revoked_by, $2)
  from (select id, revoked_at is null as live from {{schema}}.tokens where id = $1 for update) before
  where t.id = before.id
  returning t.id, t.name, t.prefix, t.scopes, t.created_by, t.created_at, t.last_used_at, t.revoked_by,
    t.revoked_at, before.live as revoked_now
),
told as (
  select pg_notify({{tokens_channel}}, id::text) from revoked
)
select * from revoked where (select count(*) from told) >= 0
