-- console_session_create: store a console session. $1 sha-256 hash of its secret, $2 role,
-- $3 actor, $4 source address, $5 idle seconds, $6 absolute lifetime in seconds. Sessions past
-- their absolute expiry are deleted first (few rows: one per sign-in).
with expired as (
  delete from {{schema}}.console_sessions where expires_at < now() - interval '1 day'
)
insert into {{schema}}.console_sessions (hash, role, actor, source, idle_seconds, expires_at)
values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
returning id, role, actor, created_at, expires_at
