-- console_session_revoke: end the session whose hash is $1 (sign-out). Returns it when it was live.
update {{schema}}.console_sessions
set revoked_at = now()
where hash = $1 and revoked_at is null
returning id, role, actor
