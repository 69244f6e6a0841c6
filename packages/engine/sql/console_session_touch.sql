-- console_session_touch: the live session whose hash is $1 (not revoked, before its absolute
-- expiry, seen within its idle window), marking it seen. No row when there is none.
update {{schema}}.console_sessions
set last_seen_at = now()
where hash = $1 and revoked_at is null and expires_at > now()
  and last_seen_at > now() - make_interval(secs => idle_seconds)
returning id, role, actor, hash, created_at, expires_at
